namespace Tokutei.Routing.Core.Identifiers;

/// <summary>Calendar dates as Japanese law counts them, in Asia/Tokyo.</summary>
public static class JapanCalendar
{
    /// <summary>Japan Standard Time. Japan has no daylight saving time, so a fixed offset would do as well,
    /// but the zone is looked up by name so that the intent is plain.</summary>
    public static readonly TimeZoneInfo Zone = FindZone();

    /// <summary>Today's date in Asia/Tokyo according to the given clock.</summary>
    public static DateOnly Today(TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var now = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), Zone);
        return DateOnly.FromDateTime(now.DateTime);
    }

    /// <summary>
    /// The age on a date under 年齢計算ニ関スル法律: a person reaches age N at the start of the day of their Nth
    /// birthday anniversary; a 29 February birthday counts as 1 March in common years.
    /// </summary>
    public static int AgeOn(DateOnly birthDate, DateOnly date)
    {
        var age = date.Year - birthDate.Year;
        if (date < Anniversary(birthDate, date.Year))
        {
            age--;
        }

        return age;
    }

    private static DateOnly Anniversary(DateOnly birthDate, int year) =>
        birthDate is { Month: 2, Day: 29 } && !DateTime.IsLeapYear(year)
            ? new DateOnly(year, 3, 1)
            : new DateOnly(year, birthDate.Month, birthDate.Day);

    private static TimeZoneInfo FindZone()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
        }
        catch (TimeZoneNotFoundException)
        {
            // A container without tzdata: JST has been UTC+9 without daylight saving since 1951.
            return TimeZoneInfo.CreateCustomTimeZone("Asia/Tokyo", TimeSpan.FromHours(9), "Japan Standard Time", "JST");
        }
    }
}
