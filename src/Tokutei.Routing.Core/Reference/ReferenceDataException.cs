namespace Tokutei.Routing.Core.Reference;

/// <summary>Reference data that must not be served; lists every problem found, not just the first.</summary>
public sealed class ReferenceDataException : Exception
{
    public ReferenceDataException(IReadOnlyList<string> problems)
        : base("Reference data is invalid: " + string.Join("; ", problems))
    {
        Problems = problems;
    }

    public ReferenceDataException()
        : this(["unknown problem"])
    {
    }

    public ReferenceDataException(string message)
        : this([message])
    {
    }

    public ReferenceDataException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    public IReadOnlyList<string> Problems { get; }
}
