using Microsoft.Extensions.Time.Testing;
using Tokutei.Routing.Core.Identifiers;

namespace Tokutei.Routing.Core.Tests.Identifiers;

public sealed class JapanCalendarTests
{
    [Theory]
    [InlineData("2010-07-01", "2026-06-30", 15)]
    [InlineData("2010-07-01", "2026-07-01", 16)] // the birthday itself counts
    [InlineData("2008-02-29", "2024-02-28", 15)]
    [InlineData("2008-02-29", "2024-02-29", 16)] // leap year: the anniversary exists
    [InlineData("2008-02-29", "2025-02-28", 16)]
    [InlineData("2010-02-28", "2026-02-28", 16)]
    [InlineData("2012-02-29", "2027-02-28", 14)] // common year: 29 February counts as 1 March
    [InlineData("2012-02-29", "2027-03-01", 15)]
    public void AgeOn_JapaneseLaw(string birth, string on, int age) =>
        Assert.Equal(age, JapanCalendar.AgeOn(DateOnly.Parse(birth, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(on, System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData("2026-06-13T14:59:59Z", "2026-06-13")]
    [InlineData("2026-06-13T15:00:00Z", "2026-06-14")] // midnight in Tokyo is 15:00 UTC the day before
    public void Today_IsTheDateInTokyo(string utc, string expected)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), JapanCalendar.Today(clock));
    }
}
