using System.Diagnostics.CodeAnalysis;

namespace Tokutei.Routing.Core.Identifiers;

/// <summary>
/// A 在留カード番号 or 特別永住者証明書番号: two capital letters, eight digits, two capital letters. No check
/// algorithm is public, so only the format is checked. Personal data: <see cref="ToString"/> never shows it.
/// </summary>
public readonly record struct ResidenceCardNumber
{
    private readonly string _value;

    private ResidenceCardNumber(string value) => _value = value;

    /// <summary>The twelve characters, for comparison and for the destination; never for logs.</summary>
    public string Reveal() => _value;

    /// <summary>A placeholder: the number is personal data and must not reach a log by accident.</summary>
    public override string ToString() => "[card number]";

    /// <summary>Parses a number, folding full-width letters and digits to ASCII first.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ResidenceCardNumber? number)
    {
        number = null;
        var folded = Text.FoldWidth(text ?? string.Empty).Trim();
        if (folded.Length != 12)
        {
            return false;
        }

        for (var i = 0; i < 12; i++)
        {
            var ok = i is >= 2 and < 10 ? char.IsAsciiDigit(folded[i]) : char.IsAsciiLetterUpper(folded[i]);
            if (!ok)
            {
                return false;
            }
        }

        number = new ResidenceCardNumber(folded);
        return true;
    }
}
