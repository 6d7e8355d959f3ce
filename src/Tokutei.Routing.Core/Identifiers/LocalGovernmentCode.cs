using System.Diagnostics.CodeAnalysis;

namespace Tokutei.Routing.Core.Identifiers;

/// <summary>
/// A 全国地方公共団体コード: two digits of prefecture, three of municipality and a check digit. A value of this
/// type always has six ASCII digits and a correct check digit; whether the code names a real local government is
/// for the reference data to say.
/// </summary>
public readonly record struct LocalGovernmentCode
{
    private LocalGovernmentCode(string value) => Value = value;

    /// <summary>The six digits.</summary>
    public string Value { get; }

    /// <summary>The 2-digit JIS X 0401 prefecture part.</summary>
    public string PrefectureCode => Value[..2];

    public override string ToString() => Value;

    /// <summary>
    /// The check digit over the first five digits: weights 6,5,4,3,2, r = sum mod 11, check = (11 − r) mod 10
    /// (総務省 全国地方公共団体コード仕様).
    /// </summary>
    public static int CheckDigit(ReadOnlySpan<char> firstFive)
    {
        if (firstFive.Length != 5)
        {
            throw new ArgumentException("A check digit is computed over exactly five digits.", nameof(firstFive));
        }

        var sum = 0;
        for (var i = 0; i < 5; i++)
        {
            var digit = firstFive[i] - '0';
            if (digit is < 0 or > 9)
            {
                throw new ArgumentException("Only ASCII digits have a check digit.", nameof(firstFive));
            }

            sum += digit * (6 - i);
        }

        return (11 - (sum % 11)) % 10;
    }

    /// <summary>Parses a code, folding full-width digits; fails on any other character, length or check digit.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out LocalGovernmentCode? code, out LocalGovernmentCodeError error)
    {
        code = null;
        var folded = Text.FoldWidth(text ?? string.Empty).Trim();
        if (folded.Length != 6 || !folded.All(char.IsAsciiDigit))
        {
            error = LocalGovernmentCodeError.Format;
            return false;
        }

        if (CheckDigit(folded.AsSpan(0, 5)) != folded[5] - '0')
        {
            error = LocalGovernmentCodeError.CheckDigit;
            return false;
        }

        error = LocalGovernmentCodeError.None;
        code = new LocalGovernmentCode(folded);
        return true;
    }
}

/// <summary>Why a text is not a local government code.</summary>
public enum LocalGovernmentCodeError
{
    None,
    Format,
    CheckDigit,
}
