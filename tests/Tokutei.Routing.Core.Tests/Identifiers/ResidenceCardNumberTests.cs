using Tokutei.Routing.Core.Identifiers;

namespace Tokutei.Routing.Core.Tests.Identifiers;

public sealed class ResidenceCardNumberTests
{
    [Theory]
    [InlineData("AB12345678CD", "AB12345678CD")]
    [InlineData("ＡＢ１２３４５６７８ＣＤ", "AB12345678CD")]
    [InlineData(" AB12345678CD ", "AB12345678CD")]
    public void TryParse_WellFormed_Succeeds(string text, string expected)
    {
        Assert.True(ResidenceCardNumber.TryParse(text, out var number));
        Assert.Equal(expected, number.Value.Reveal());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ab12345678cd")]
    [InlineData("AB1234567CD")]
    [InlineData("A112345678CD")]
    [InlineData("AB12345678C1")]
    [InlineData("AB12345678CDE")]
    public void TryParse_Malformed_Fails(string text) => Assert.False(ResidenceCardNumber.TryParse(text, out _));

    [Fact]
    public void ToString_NeverShowsTheNumber()
    {
        Assert.True(ResidenceCardNumber.TryParse("AB12345678CD", out var number));
        Assert.DoesNotContain("12345678", number.Value.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("12345678", $"{number}", StringComparison.Ordinal);
    }
}
