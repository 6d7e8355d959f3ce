namespace Tokutei.Routing.Cli.Output;

/// <summary>The language of human output: Japanese or English. Codes (enum names, reasons) are never translated.</summary>
internal sealed class Lang
{
    public static readonly Lang English = new(false);

    public static readonly Lang Japanese = new(true);

    private Lang(bool japanese) => IsJapanese = japanese;

    public bool IsJapanese { get; }

    /// <summary>"ja" or "en"; anything else is a usage error.</summary>
    public static Lang Parse(string? code) => code?.Trim().ToUpperInvariant() switch
    {
        "JA" or "JA-JP" or "JP" => Japanese,
        "EN" or "EN-US" => English,
        _ => throw new UsageException($"--lang must be ja or en, not '{code}'."),
    };

    /// <summary>--lang, else TOKUTEI_LANG, else Japanese when LC_ALL / LANG say so, else English.</summary>
    public static Lang FromEnvironment()
    {
        var explicitLang = Environment.GetEnvironmentVariable("TOKUTEI_LANG");
        if (!string.IsNullOrWhiteSpace(explicitLang))
        {
            return Parse(explicitLang);
        }

        var locale = Environment.GetEnvironmentVariable("LC_ALL") is { Length: > 0 } all ? all : Environment.GetEnvironmentVariable("LANG");
        return locale is not null && locale.StartsWith("ja", StringComparison.OrdinalIgnoreCase) ? Japanese : English;
    }

    public string T(string en, string ja) => IsJapanese ? ja : en;
}
