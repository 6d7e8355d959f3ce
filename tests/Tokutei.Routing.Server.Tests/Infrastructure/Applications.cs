using System.Security.Cryptography;
using Google.Protobuf.Reflection;
using Google.Type;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Infrastructure;

/// <summary>
/// Builds applications that follow every rule of DOMAIN.md, for a procedure and a place of residence; tests then
/// break exactly the rule they are about.
/// </summary>
public static class Applications
{
    public const string CardNumber = "AB12345678CD";

    public const string FamilyName = "NGUYEN";

    public const string GivenName = "VAN AN";

    /// <summary>The applicant's default birth date: 36 years old on the default filing date.</summary>
    public static readonly DateOnly BirthDate = new(1990, 4, 1);

    /// <summary>Today in Japan on the fixture's clock.</summary>
    public static readonly DateOnly Today = new(2026, 7, 1);

    /// <summary>A photo taken a month before the default filing date, within the six months the rule allows.</summary>
    public static readonly DateOnly PhotoTakenOn = new(2026, 6, 1);

    private static readonly EnumDescriptor ProcedureEnum = ReferenceReflection.Descriptor.FindTypeByName<EnumDescriptor>("AccompanyingProcedure");
    private static readonly EnumDescriptor NotificationEnum = ReferenceReflection.Descriptor.FindTypeByName<EnumDescriptor>("ResidentNotification");

    /// <summary>
    /// A valid application: the applicant category that fits the procedure's card, registered, filing in person at
    /// a counter, the card handed in with the first notification the procedure is deemed with (none for the others),
    /// and the documents the rules require: the two tokutei forms, the accompanying form, the current card unless the
    /// procedure has none to show, the passport where required, and a photo unless the accompanying procedure
    /// submits one (procedures marked age16plus, for applicants aged 16 or over).
    /// </summary>
    public static Application Valid(string procedureCode, string residenceCode, DateOnly? birthDate = null, DateOnly? filedOn = null)
    {
        var procedure = ReferenceFiles.Procedure(procedureCode);
        var birth = birthDate ?? BirthDate;
        var filed = filedOn ?? Today;
        var application = new Application
        {
            Applicant = new Applicant
            {
                Category = procedure.IsSpr ? ApplicantCategory.SpecialPermanentResident : ApplicantCategory.MidToLongTermResident,
                ResidentRecord = ResidentRecord.Registered,
                CardNumber = CardNumber,
                Name = new PersonName { FamilyName = FamilyName, GivenName = GivenName },
                BirthDate = ProtoDate(birth),
                Nationality = "VIET NAM",
            },
            Procedure = Procedure(procedureCode),
            ResidentNotification = procedure.DeemedWith.Count > 0 ? Notification(procedure.DeemedWith[0]) : ResidentNotification.None,
            CardSubmitted = true,
            ResidenceLocalGovernmentCode = residenceCode,
            FiledOn = ProtoDate(filed),
            Channel = FilingChannel.Counter,
            Filer = new Filer { Kind = FilerKind.Self },
        };

        application.Documents.Add(NewDocument(DocumentKind.TokuteiApplicationForm));
        application.Documents.Add(NewDocument(DocumentKind.PinSettingRequest));
        application.Documents.Add(NewDocument(DocumentKind.AccompanyingForm));
        if (procedure.CardShown)
        {
            var card = NewDocument(procedure.IsSpr ? DocumentKind.SprCertificate : DocumentKind.ResidenceCard);
            card.Facts = new DocumentFacts
            {
                HolderName = new PersonName { FamilyName = FamilyName, GivenName = GivenName },
                HolderBirthDate = ProtoDate(birth),
                CardNumber = CardNumber,
            };
            application.Documents.Add(card);
        }

        if (procedure.PassportRequired)
        {
            application.Documents.Add(NewDocument(DocumentKind.Passport));
        }

        if (!(procedure.PhotoWithAccompanyingFrom16 && AgeOn(birth, filed) >= 16))
        {
            application.Documents.Add(Photo(PhotoTakenOn, 40, 30));
        }

        return application;
    }

    /// <summary>A fresh request for a valid application.</summary>
    public static RouteCaseRequest Request(Application application) =>
        new() { RequestId = Guid.NewGuid().ToString("D"), Application = application };

    public static Document NewDocument(DocumentKind kind) => new()
    {
        Kind = kind,
        DocumentId = NewDocumentId(),
        Sha256 = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        PageCount = 1,
    };

    /// <summary>
    /// A unique document id written with letters only: the server scans document ids for a 個人番号, and a hex id
    /// holds a run of twelve digits passing the My Number check about once in a thousand ids.
    /// </summary>
    public static string NewDocumentId() =>
        "doc-" + string.Concat(RandomNumberGenerator.GetBytes(16).Select(b => $"{(char)('a' + (b >> 4))}{(char)('a' + (b & 15))}"));

    public static Document Photo(DateOnly takenOn, int heightMm, int widthMm)
    {
        var photo = NewDocument(DocumentKind.Photo);
        photo.Photo = new PhotoFacts { TakenOn = ProtoDate(takenOn), HeightMm = heightMm, WidthMm = widthMm };
        return photo;
    }

    public static int IndexOf(Application application, DocumentKind kind)
    {
        for (var i = 0; i < application.Documents.Count; i++)
        {
            if (application.Documents[i].Kind == kind)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"The application has no {kind} document.");
    }

    public static Application Without(this Application application, DocumentKind kind)
    {
        application.Documents.RemoveAt(IndexOf(application, kind));
        return application;
    }

    public static Date ProtoDate(DateOnly date) => new() { Year = date.Year, Month = date.Month, Day = date.Day };

    public static Date ProtoDate(int year, int month, int day) => new() { Year = year, Month = month, Day = day };

    public static AccompanyingProcedure Procedure(string code) =>
        (AccompanyingProcedure)(ProcedureEnum.FindValueByName("ACCOMPANYING_PROCEDURE_" + code)
            ?? throw new ArgumentOutOfRangeException(nameof(code), code, "no AccompanyingProcedure value")).Number;

    public static ResidentNotification Notification(string code) =>
        (ResidentNotification)(NotificationEnum.FindValueByName("RESIDENT_NOTIFICATION_" + code)
            ?? throw new ArgumentOutOfRangeException(nameof(code), code, "no ResidentNotification value")).Number;

    /// <summary>
    /// Age under Japanese law (年齢計算ニ関スル法律): age N is reached at the start of the Nth birthday anniversary;
    /// a 29 February birthday counts as 1 March in common years.
    /// </summary>
    public static int AgeOn(DateOnly birth, DateOnly on)
    {
        var anniversary = birth is { Month: 2, Day: 29 } && !System.DateTime.IsLeapYear(on.Year)
            ? new DateOnly(on.Year, 3, 1)
            : new DateOnly(on.Year, birth.Month, birth.Day);
        return on < anniversary ? on.Year - birth.Year - 1 : on.Year - birth.Year;
    }

    /// <summary>
    /// A 全国地方公共団体コード with its check digit (総務省): weights 6,5,4,3,2 on the five digits,
    /// r = sum mod 11, check = (11 − r) mod 10.
    /// </summary>
    public static string WithCheckDigit(string firstFive)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(firstFive.Length, 5);
        var sum = 0;
        for (var i = 0; i < 5; i++)
        {
            sum += (firstFive[i] - '0') * (6 - i);
        }

        var check = (11 - (sum % 11)) % 10;
        return firstFive + (char)('0' + check);
    }
}
