using CsCheck;
using Tokutei.Routing.Core.Identifiers;

namespace Tokutei.Routing.Core.Tests.Identifiers;

public sealed class MyNumberTests
{
    // The example used in the Digital Agency's specification of the check digit: 12345678901 → 8.
    private const string Valid = "123456789018";

    [Fact]
    public void IsValid_PublishedExample_IsTrue() => Assert.True(MyNumber.IsValid(Valid));

    [Theory]
    [InlineData('0')]
    [InlineData('1')]
    [InlineData('2')]
    [InlineData('3')]
    [InlineData('4')]
    [InlineData('5')]
    [InlineData('6')]
    [InlineData('7')]
    [InlineData('9')]
    public void IsValid_OtherCheckDigit_IsFalse(char check) => Assert.False(MyNumber.IsValid(Valid[..11] + check));

    [Theory]
    [InlineData("123456789018")]
    [InlineData("番号は123456789018です")]
    [InlineData("1234 5678 9018")]
    [InlineData("1234-5678-9018")]
    [InlineData("１２３４５６７８９０１８")]
    public void Contains_MyNumberInText_IsTrue(string text) => Assert.True(MyNumber.Contains(text));

    [Theory]
    [InlineData("")]
    [InlineData("123456789017")]
    [InlineData("1234567890180")]
    [InlineData("23456789018")]
    [InlineData("Anne-Marie")]
    [InlineData("AB12345678CD")]
    public void Contains_NoMyNumber_IsFalse(string text) => Assert.False(MyNumber.Contains(text));

    [Fact]
    public void IsValid_RandomElevenDigits_ExactlyOneCheckDigitPasses() =>
        Gen.Long[0, 99_999_999_999L].Sample(n =>
        {
            var first = n.ToString("00000000000", System.Globalization.CultureInfo.InvariantCulture);
            var passing = Enumerable.Range(0, 10).Count(d => MyNumber.IsValid(first + (char)('0' + d)));
            return passing == 1;
        });
}
