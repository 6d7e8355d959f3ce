using CsCheck;
using Tokutei.Routing.Core.Identifiers;

namespace Tokutei.Routing.Core.Tests.Identifiers;

public sealed class LocalGovernmentCodeTests
{
    /// <summary>Every code of the reference list (built from the 総務省 list, whose codes carry their check digits).</summary>
    private static readonly string[] Codes = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "reference", "local_governments.tsv"))
        .Skip(1)
        .Select(line => line.Split('\t')[0])
        .ToArray();

    public static TheoryData<string> AllReferenceCodes() => new(Codes);

    [Fact]
    public void ReferenceList_Has1916Codes() => Assert.Equal(1916, Codes.Distinct(StringComparer.Ordinal).Count());

    [Theory]
    [MemberData(nameof(AllReferenceCodes))]
    public void TryParse_EveryReferenceCode_Succeeds(string text)
    {
        Assert.True(LocalGovernmentCode.TryParse(text, out var code, out var error), text);
        Assert.Equal(LocalGovernmentCodeError.None, error);
        Assert.Equal(text, code.Value.Value);
        Assert.Equal(text[..2], code.Value.PrefectureCode);
    }

    [Theory]
    [MemberData(nameof(AllReferenceCodes))]
    public void TryParse_ReferenceCodeWithAnyOtherCheckDigit_FailsOnCheckDigit(string text)
    {
        foreach (var digit in "0123456789".Where(d => d != text[5]))
        {
            Assert.False(LocalGovernmentCode.TryParse(text[..5] + digit, out _, out var error));
            Assert.Equal(LocalGovernmentCodeError.CheckDigit, error);
        }
    }

    [Theory]
    [InlineData("131016", "13101", 6)] // 千代田区, the example of DOMAIN.md
    [InlineData("011002", "01100", 2)] // 札幌市
    public void CheckDigit_PublishedExamples(string code, string firstFive, int check)
    {
        Assert.Equal(check, LocalGovernmentCode.CheckDigit(firstFive));
        Assert.True(LocalGovernmentCode.TryParse(code, out _, out _));
    }

    [Fact]
    public void TryParse_RandomCorruptedCodes_AreRefused() =>
        Gen.Select(Gen.Int[0, 1915], Gen.Int[0, 5], Gen.Int[1, 9]).Sample((index, position, shift) =>
        {
            var original = Codes[index];
            var chars = original.ToCharArray();
            chars[position] = (char)('0' + ((chars[position] - '0' + shift) % 10));
            var corrupted = new string(chars);
            var parsed = LocalGovernmentCode.TryParse(corrupted, out _, out _);

            // A corrupted code passes only if its new check digit happens to agree: the mod-11-then-mod-10
            // scheme maps two remainders to the same digit, so some single substitutions are undetectable.
            var digits = corrupted[..5].Select(c => c - '0').ToArray();
            var r = ((digits[0] * 6) + (digits[1] * 5) + (digits[2] * 4) + (digits[3] * 3) + (digits[4] * 2)) % 11;
            return parsed == ((11 - r) % 10 == corrupted[5] - '0');
        });

    [Theory]
    [InlineData("")]
    [InlineData("13101")]
    [InlineData("1310166")]
    [InlineData("13101a")]
    [InlineData("１３１０１X")]
    public void TryParse_NotSixDigits_FailsOnFormat(string text)
    {
        Assert.False(LocalGovernmentCode.TryParse(text, out _, out var error));
        Assert.Equal(LocalGovernmentCodeError.Format, error);
    }

    [Fact]
    public void TryParse_FullWidthDigits_AreFolded()
    {
        Assert.True(LocalGovernmentCode.TryParse("１３１０１６", out var code, out _));
        Assert.Equal("131016", code.Value.Value);
    }
}
