namespace Tokutei.Routing.Cli;

/// <summary>Bad input found before any call (exit code 2). The message may quote what the user gave, nothing else.</summary>
internal sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
