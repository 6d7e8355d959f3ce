using System.CommandLine;
using System.Globalization;
using Google.Type;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Input;

/// <summary>
/// Flags that build an application or override fields of one read from a file: `tokutei route --procedure
/// change-of-residence --lg-code 011011 ...`. Enum values take the name after the prefix, in any case, with - or _.
/// </summary>
internal sealed class ApplicationFlags
{
    private readonly Option<string?> _procedure = new("--procedure") { Description = "accompanying procedure, e.g. change-of-residence (see `tokutei procedures`)" };
    private readonly Option<string?> _category = new("--category") { Description = "applicant category: mid-to-long-term-resident, special-permanent-resident, other" };
    private readonly Option<string?> _residentRecord = new("--resident-record") { Description = "registered, registered-by-this-filing, not-registered" };
    private readonly Option<string?> _cardNumber = new("--card-number") { Description = "current residence card or certificate number (AB12345678CD)" };
    private readonly Option<string?> _familyName = new("--family-name") { Description = "family name as on the card" };
    private readonly Option<string?> _givenName = new("--given-name") { Description = "given name(s) as on the card" };
    private readonly Option<string?> _nameKanji = new("--name-kanji") { Description = "name in kanji, where the card has one" };
    private readonly Option<string?> _birthDate = new("--birth-date") { Description = "date of birth, YYYY-MM-DD" };
    private readonly Option<string?> _nationality = new("--nationality") { Description = "nationality or region as on the card" };
    private readonly Option<string?> _notification = new("--notification") { Description = "住民基本台帳法 notification filed with it: jumin-22, jumin-23, jumin-30-46, jumin-30-47, none" };
    private readonly Option<bool?> _cardSubmitted = new("--card-submitted") { Description = "the current card is handed in (true/false)" };
    private readonly Option<string?> _lgCode = new("--lg-code") { Description = "6-digit local government code of the place of residence (a ward within a designated city)" };
    private readonly Option<string?> _filedOn = new("--filed-on") { Description = "filing date YYYY-MM-DD (default with flags alone: today in Japan)" };
    private readonly Option<string?> _eventDate = new("--event-date") { Description = "date of the event that starts a notification deadline, YYYY-MM-DD" };
    private readonly Option<string?> _channel = new("--channel") { Description = "counter or online-residence-application-system" };
    private readonly Option<string?> _filer = new("--filer") { Description = "self, relative or legal-representative" };
    private readonly Option<string?> _relationship = new("--relationship") { Description = "a proxy's relationship to the applicant (e.g. 母)" };
    private readonly Option<bool?> _unable = new("--unable-to-appear") { Description = "the applicant cannot appear through illness etc. (true/false)" };
    private readonly Option<string[]> _documents = new("--doc") { Description = "a document: KIND:DOCUMENT_ID:SHA256[:PAGES] (repeatable), e.g. photo:scan-17:9f86…:1", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string?> _photoTakenOn = new("--photo-taken-on") { Description = "when the photo was taken, YYYY-MM-DD" };
    private readonly Option<string?> _photoSize = new("--photo-size") { Description = "photo height x width in mm, e.g. 40x30" };

    private IEnumerable<Option> All =>
    [
        _procedure, _category, _residentRecord, _cardNumber, _familyName, _givenName, _nameKanji, _birthDate, _nationality,
        _notification, _cardSubmitted, _lgCode, _filedOn, _eventDate, _channel, _filer, _relationship, _unable, _documents,
        _photoTakenOn, _photoSize,
    ];

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Whether any application flag was given.</summary>
    public bool AnyGiven(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return All.Any(o => result.GetResult(o) is { Implicit: false });
    }

    /// <summary>
    /// Applies the flags to an application. With <paramref name="defaults"/> (flags alone, no file) the fields a person
    /// rarely needs to type are filled in: registered, filed today in Japan at a counter, in person.
    /// </summary>
    public void Apply(ParseResult result, Application application, bool defaults)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(application);
        application.Applicant ??= new Applicant();
        application.Applicant.Name ??= new PersonName();
        application.Filer ??= new Filer();
        if (defaults)
        {
            application.Applicant.ResidentRecord = ResidentRecord.Registered;
            application.FiledOn = ToDate(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(TimeProvider.System.GetUtcNow(), Tokyo).DateTime));
            application.Channel = FilingChannel.Counter;
            application.Filer.Kind = FilerKind.Self;
            application.CardSubmitted = true;
        }

        if (result.GetValue(_procedure) is { } procedure)
        {
            application.Procedure = ProtoEnums.Parse<AccompanyingProcedure>(procedure, "--procedure");
        }

        if (result.GetValue(_category) is { } category)
        {
            application.Applicant.Category = ProtoEnums.Parse<ApplicantCategory>(category, "--category");
        }

        if (result.GetValue(_residentRecord) is { } record)
        {
            application.Applicant.ResidentRecord = ProtoEnums.Parse<ResidentRecord>(record, "--resident-record");
        }

        Set(result, _cardNumber, v => application.Applicant.CardNumber = v);
        Set(result, _familyName, v => application.Applicant.Name.FamilyName = v);
        Set(result, _givenName, v => application.Applicant.Name.GivenName = v);
        Set(result, _nameKanji, v => application.Applicant.Name.NameKanji = v);
        Set(result, _birthDate, v => application.Applicant.BirthDate = ParseDate(v, "--birth-date"));
        Set(result, _nationality, v => application.Applicant.Nationality = v);
        Set(result, _notification, v => application.ResidentNotification = ProtoEnums.Parse<ResidentNotification>(v, "--notification"));
        if (result.GetValue(_cardSubmitted) is { } submitted)
        {
            application.CardSubmitted = submitted;
        }

        Set(result, _lgCode, v => application.ResidenceLocalGovernmentCode = v);
        Set(result, _filedOn, v => application.FiledOn = ParseDate(v, "--filed-on"));
        Set(result, _eventDate, v => application.EventDate = ParseDate(v, "--event-date"));
        Set(result, _channel, v => application.Channel = ProtoEnums.Parse<FilingChannel>(v, "--channel"));
        Set(result, _filer, v => application.Filer.Kind = ProtoEnums.Parse<FilerKind>(v, "--filer"));
        Set(result, _relationship, v => application.Filer.Relationship = v);
        if (result.GetValue(_unable) is { } unable)
        {
            application.Filer.ApplicantUnableToAppear = unable;
        }

        foreach (var spec in result.GetValue(_documents) ?? [])
        {
            application.Documents.Add(ParseDocument(spec));
        }

        ApplyPhoto(result, application);
    }

    private void ApplyPhoto(ParseResult result, Application application)
    {
        var takenOn = result.GetValue(_photoTakenOn);
        var size = result.GetValue(_photoSize);
        if (takenOn is null && size is null)
        {
            return;
        }

        var photos = application.Documents.Where(d => d.Kind == DocumentKind.Photo).ToList();
        if (photos.Count == 0)
        {
            throw new UsageException("--photo-taken-on and --photo-size describe a photo: add one with --doc photo:ID:SHA256.");
        }

        foreach (var photo in photos)
        {
            photo.Photo ??= new PhotoFacts();
            if (takenOn is not null)
            {
                photo.Photo.TakenOn = ParseDate(takenOn, "--photo-taken-on");
            }

            if (size is not null)
            {
                var parts = size.ToUpperInvariant().Split('X', StringSplitOptions.TrimEntries);
                if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var height)
                    || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var width))
                {
                    throw new UsageException($"--photo-size must be HEIGHTxWIDTH in mm (e.g. 40x30), not '{size}'.");
                }

                photo.Photo.HeightMm = height;
                photo.Photo.WidthMm = width;
            }
        }
    }

    /// <summary>KIND:DOCUMENT_ID:SHA256[:PAGES].</summary>
    private static Document ParseDocument(string spec)
    {
        var parts = spec.Split(':');
        if (parts.Length is < 3 or > 4)
        {
            throw new UsageException($"--doc must be KIND:DOCUMENT_ID:SHA256[:PAGES], not '{spec}'.");
        }

        var pages = 1;
        if (parts.Length == 4 && !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out pages))
        {
            throw new UsageException($"--doc: the page count must be a number, not '{parts[3]}'.");
        }

        return new Document
        {
            Kind = ProtoEnums.Parse<DocumentKind>(parts[0], "--doc"),
            DocumentId = parts[1],
            Sha256 = parts[2],
            PageCount = pages,
        };
    }

    private static void Set(ParseResult result, Option<string?> option, Action<string> set)
    {
        if (result.GetValue(option) is { } value)
        {
            set(value);
        }
    }

    public static Date ParseDate(string text, string flag)
    {
        if (DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return ToDate(date);
        }

        throw new UsageException($"{flag} must be a date YYYY-MM-DD, not '{text}'.");
    }

    public static Date ToDate(DateOnly date) => new() { Year = date.Year, Month = date.Month, Day = date.Day };

    /// <summary>Japan has had no daylight saving time since 1951: UTC+9 whether or not the machine has tzdata.</summary>
    private static readonly TimeZoneInfo Tokyo = TimeZoneInfo.TryFindSystemTimeZoneById("Asia/Tokyo", out var zone)
        ? zone
        : TimeZoneInfo.CreateCustomTimeZone("Asia/Tokyo", TimeSpan.FromHours(9), "Japan Standard Time", "JST");
}
