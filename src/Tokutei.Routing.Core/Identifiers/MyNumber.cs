namespace Tokutei.Routing.Core.Identifiers;

/// <summary>
/// Detects a 個人番号 (My Number) so that the router can refuse it: the router never asks for, stores or forwards
/// one. A My Number is 11 digits and a check digit (行政手続における特定の個人を識別するための番号の利用等に関する
/// 法律施行令 8条): with P(n) the n-th digit counted from the right of the first eleven and Q(n) = n + 1 for
/// n ≤ 6, n − 5 for n ≥ 7, r = Σ P(n)·Q(n) mod 11, and the check digit is 0 when r ≤ 1, else 11 − r.
/// </summary>
public static class MyNumber
{
    /// <summary>Whether twelve ASCII digits form a valid My Number.</summary>
    public static bool IsValid(ReadOnlySpan<char> twelveDigits)
    {
        if (twelveDigits.Length != 12)
        {
            return false;
        }

        foreach (var c in twelveDigits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        var sum = 0;
        for (var n = 1; n <= 11; n++)
        {
            var p = twelveDigits[11 - n] - '0';
            var q = n <= 6 ? n + 1 : n - 5;
            sum += p * q;
        }

        var r = sum % 11;
        var check = r <= 1 ? 0 : 11 - r;
        return check == twelveDigits[11] - '0';
    }

    /// <summary>
    /// Whether an identifier field's whole value is a My Number (spaces and hyphens between digits ignored). For
    /// identifiers such as document ids, where digit runs inside a longer id (a UUID's groups) mean nothing.
    /// </summary>
    public static bool IsWholeValue(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var digits = Text.FoldWidth(text).Trim().Replace(" ", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        return IsValid(digits);
    }

    /// <summary>
    /// Whether a free-text value holds a My Number: after folding full-width digits, any run of exactly twelve
    /// digits (spaces and hyphens between digits are read through, as in "1234 5678 9012") that passes the check.
    /// </summary>
    public static bool Contains(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var folded = Text.FoldWidth(text);
        Span<char> run = stackalloc char[13];
        var length = 0;
        for (var i = 0; i <= folded.Length; i++)
        {
            var c = i < folded.Length ? folded[i] : '\0';
            if (char.IsAsciiDigit(c))
            {
                if (length < run.Length)
                {
                    run[length] = c;
                }

                length++;
                continue;
            }

            var separatorInsideRun = c is ' ' or '-' && length > 0 && i + 1 < folded.Length && char.IsAsciiDigit(folded[i + 1]);
            if (separatorInsideRun)
            {
                continue;
            }

            if (length == 12 && IsValid(run[..12]))
            {
                return true;
            }

            length = 0;
        }

        return false;
    }
}
