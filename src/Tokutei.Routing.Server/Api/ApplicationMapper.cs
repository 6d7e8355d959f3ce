using Tokutei.Routing.Core.Identifiers;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Errors;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>
/// Proto → domain for an application, checking the shape of every field on the way (required, formats, check
/// digits, dates in order, a 個人番号 anywhere). Every malformed field is collected and reported at once; whether a
/// well-formed application follows the rules is for the rules engine to say.
/// </summary>
internal static class ApplicationMapper
{
    private const int MaxNamePart = 200;
    private const int MaxFreeText = 200;
    private const int MaxDocumentId = 128;
    private const int MaxPages = 1000;
    private const int MaxPhotoMm = 1000;

    public static CaseApplication Map(V1.Application? application, int maxDocuments, FieldErrors errors, string path = "application")
    {
        if (application is null)
        {
            errors.Required(path);
            errors.ThrowIfAny();
            throw new InvalidOperationException("unreachable");
        }

        var filedOn = RequiredDate(application.FiledOn, $"{path}.filed_on", errors);
        var applicant = MapApplicant(application.Applicant, $"{path}.applicant", filedOn, errors);
        var procedure = MapProcedure(application.Procedure, $"{path}.procedure", errors);
        var notification = MapNotification(application.ResidentNotification, $"{path}.resident_notification", errors);
        var residence = MapResidence(application.ResidenceLocalGovernmentCode, $"{path}.residence_local_government_code", errors);
        var eventDate = OptionalDate(application.EventDate, $"{path}.event_date", errors);
        NotAfterFiling(eventDate, filedOn, $"{path}.event_date", errors);
        var channel = MapChannel(application.Channel, $"{path}.channel", errors);
        var filer = MapFiler(application.Filer, $"{path}.filer", errors);
        var documents = MapDocuments(application.Documents, $"{path}.documents", maxDocuments, filedOn, errors);

        errors.ThrowIfAny();
        return new CaseApplication(
            applicant!,
            procedure!,
            notification,
            application.CardSubmitted,
            residence!.Value,
            filedOn!.Value,
            eventDate,
            channel!.Value,
            filer!,
            documents);
    }

    private static Applicant? MapApplicant(V1.Applicant? applicant, string path, DateOnly? filedOn, FieldErrors errors)
    {
        if (applicant is null)
        {
            errors.Required(path);
            return null;
        }

        ApplicantCategory? category = applicant.Category switch
        {
            V1.ApplicantCategory.MidToLongTermResident => ApplicantCategory.MidToLongTermResident,
            V1.ApplicantCategory.SpecialPermanentResident => ApplicantCategory.SpecialPermanentResident,
            V1.ApplicantCategory.Other => ApplicantCategory.Other,
            _ => EnumError<ApplicantCategory>(applicant.Category == V1.ApplicantCategory.Unspecified, $"{path}.category", errors),
        };
        ResidentRecord? record = applicant.ResidentRecord switch
        {
            V1.ResidentRecord.Registered => ResidentRecord.Registered,
            V1.ResidentRecord.RegisteredByThisFiling => ResidentRecord.RegisteredByThisFiling,
            V1.ResidentRecord.NotRegistered => ResidentRecord.NotRegistered,
            _ => EnumError<ResidentRecord>(applicant.ResidentRecord == V1.ResidentRecord.Unspecified, $"{path}.resident_record", errors),
        };
        var card = OptionalCardNumber(applicant.CardNumber, $"{path}.card_number", errors);
        var name = MapName(applicant.Name, $"{path}.name", errors);
        if (name is null || (name.FamilyName.Length == 0 && name.GivenName.Length == 0 && name.NameKanji.Length == 0))
        {
            errors.Add($"{path}.name", Reasons.FieldRequired, $"{path}.name needs at least one of family_name, given_name or name_kanji.", $"{path}.name には姓・名・漢字氏名のいずれかが必要です。");
        }

        var birth = RequiredDate(applicant.BirthDate, $"{path}.birth_date", errors);
        NotAfterFiling(birth, filedOn, $"{path}.birth_date", errors);
        FreeText(applicant.Nationality, $"{path}.nationality", MaxFreeText, errors);

        return category is null || record is null || birth is null || name is null
            ? null
            : new Applicant(category.Value, record.Value, card, name, birth.Value);
    }

    private static PersonName? MapName(V1.PersonName? name, string path, FieldErrors errors)
    {
        if (name is null)
        {
            return null;
        }

        FreeText(name.FamilyName, $"{path}.family_name", MaxNamePart, errors);
        FreeText(name.GivenName, $"{path}.given_name", MaxNamePart, errors);
        FreeText(name.NameKanji, $"{path}.name_kanji", MaxNamePart, errors);
        return new PersonName(name.FamilyName, name.GivenName, name.NameKanji);
    }

    private static string? MapProcedure(V1.AccompanyingProcedure procedure, string path, FieldErrors errors)
    {
        var code = ProtoCodes.ProcedureCode(procedure);
        if (code is null)
        {
            EnumError<int>(procedure == V1.AccompanyingProcedure.Unspecified, path, errors);
        }

        return code;
    }

    private static string? MapNotification(V1.ResidentNotification notification, string path, FieldErrors errors)
    {
        if (notification == V1.ResidentNotification.Unspecified)
        {
            return null;
        }

        var code = ProtoCodes.NotificationCode(notification);
        if (code is null)
        {
            EnumError<int>(false, path, errors);
        }

        return code;
    }

    private static LocalGovernmentCode? MapResidence(string text, string path, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Required(path);
            return null;
        }

        if (LocalGovernmentCode.TryParse(text, out var code, out var error))
        {
            return code;
        }

        if (error == LocalGovernmentCodeError.CheckDigit)
        {
            errors.Add(path, Reasons.LocalGovernmentCodeCheckDigit, $"{path} has a wrong check digit.", $"{path} の検査数字が誤っています。");
        }
        else
        {
            errors.Add(path, Reasons.InvalidLocalGovernmentCode, $"{path} must be a 6-digit local government code.", $"{path} は6桁の地方公共団体コードです。");
        }

        return null;
    }

    private static FilingChannel? MapChannel(V1.FilingChannel channel, string path, FieldErrors errors) => channel switch
    {
        V1.FilingChannel.Counter => FilingChannel.Counter,
        V1.FilingChannel.OnlineResidenceApplicationSystem => FilingChannel.OnlineResidenceApplicationSystem,
        _ => EnumError<FilingChannel>(channel == V1.FilingChannel.Unspecified, path, errors),
    };

    private static Filer? MapFiler(V1.Filer? filer, string path, FieldErrors errors)
    {
        if (filer is null)
        {
            errors.Required(path);
            return null;
        }

        FilerKind? kind = filer.Kind switch
        {
            V1.FilerKind.Self => FilerKind.Self,
            V1.FilerKind.Relative => FilerKind.Relative,
            V1.FilerKind.LegalRepresentative => FilerKind.LegalRepresentative,
            _ => EnumError<FilerKind>(filer.Kind == V1.FilerKind.Unspecified, $"{path}.kind", errors),
        };
        FreeText(filer.Relationship, $"{path}.relationship", MaxFreeText, errors);
        return kind is null ? null : new Filer(kind.Value, filer.ApplicantUnableToAppear);
    }

    private static List<SubmittedDocument> MapDocuments(Google.Protobuf.Collections.RepeatedField<V1.Document> documents, string path, int maxDocuments, DateOnly? filedOn, FieldErrors errors)
    {
        var mapped = new List<SubmittedDocument>(documents.Count);
        if (documents.Count > maxDocuments)
        {
            errors.Add(path, Reasons.TooManyDocuments, $"{path} holds {documents.Count} documents; at most {maxDocuments} are allowed.", $"{path} の書類は{maxDocuments}件までです。");
            return mapped;
        }

        for (var i = 0; i < documents.Count; i++)
        {
            var document = documents[i];
            var at = $"{path}[{i}]";
            DocumentKind? kind = document.Kind switch
            {
                V1.DocumentKind.TokuteiApplicationForm => DocumentKind.TokuteiApplicationForm,
                V1.DocumentKind.PinSettingRequest => DocumentKind.PinSettingRequest,
                V1.DocumentKind.Photo => DocumentKind.Photo,
                V1.DocumentKind.AccompanyingForm => DocumentKind.AccompanyingForm,
                V1.DocumentKind.Passport => DocumentKind.Passport,
                V1.DocumentKind.ResidenceCard => DocumentKind.ResidenceCard,
                V1.DocumentKind.SprCertificate => DocumentKind.SprCertificate,
                V1.DocumentKind.RelationshipProof => DocumentKind.RelationshipProof,
                V1.DocumentKind.Other => DocumentKind.Other,
                _ => EnumError<DocumentKind>(document.Kind == V1.DocumentKind.Unspecified, $"{at}.kind", errors),
            };

            if (string.IsNullOrWhiteSpace(document.DocumentId))
            {
                errors.Required($"{at}.document_id");
            }
            else if (document.DocumentId.Length > MaxDocumentId)
            {
                errors.Add($"{at}.document_id", Reasons.FieldTooLong, $"{at}.document_id is longer than {MaxDocumentId} characters.", $"{at}.document_id は{MaxDocumentId}文字以内です。");
            }
            else if (MyNumber.IsWholeValue(document.DocumentId))
            {
                // Only a whole-value match: digit groups inside a longer id (a UUID's) are not a My Number.
                MyNumberRefused($"{at}.document_id", errors);
            }

            if (document.Sha256.Length != 64 || !document.Sha256.All(char.IsAsciiHexDigit))
            {
                errors.Add($"{at}.sha256", Reasons.InvalidDocument, $"{at}.sha256 must be 64 hexadecimal characters.", $"{at}.sha256 は16進数64文字です。");
            }

            if (document.PageCount is < 1 or > MaxPages)
            {
                errors.Add($"{at}.page_count", Reasons.InvalidDocument, $"{at}.page_count must be between 1 and {MaxPages}.", $"{at}.page_count は1以上{MaxPages}以下です。");
            }

            var facts = MapFacts(document.Facts, $"{at}.facts", errors);
            var photo = MapPhoto(document, $"{at}.photo", filedOn, errors);
            if (kind is { } k)
            {
                mapped.Add(new SubmittedDocument(k, facts, photo));
            }
        }

        return mapped;
    }

    private static DocumentFacts? MapFacts(V1.DocumentFacts? facts, string path, FieldErrors errors)
    {
        if (facts is null)
        {
            return null;
        }

        var name = MapName(facts.HolderName, $"{path}.holder_name", errors);
        var birth = OptionalDate(facts.HolderBirthDate, $"{path}.holder_birth_date", errors);
        var card = OptionalCardNumber(facts.CardNumber, $"{path}.card_number", errors);
        return new DocumentFacts(name, birth, card);
    }

    private static PhotoFacts? MapPhoto(V1.Document document, string path, DateOnly? filedOn, FieldErrors errors)
    {
        var photo = document.Photo;
        if (document.Kind != V1.DocumentKind.Photo)
        {
            if (photo is not null)
            {
                errors.Add(path, Reasons.InvalidDocument, $"{path} is only for a PHOTO document.", $"{path} は写真の書類にのみ指定できます。");
            }

            return null;
        }

        if (photo is null)
        {
            errors.Required($"{path}.taken_on");
            return null;
        }

        var taken = RequiredDate(photo.TakenOn, $"{path}.taken_on", errors);
        NotAfterFiling(taken, filedOn, $"{path}.taken_on", errors);
        if (photo.HeightMm is < 0 or > MaxPhotoMm || photo.WidthMm is < 0 or > MaxPhotoMm)
        {
            errors.Add(path, Reasons.InvalidDocument, $"{path} dimensions must be between 0 and {MaxPhotoMm} mm.", $"{path} の寸法は0〜{MaxPhotoMm}mmです。");
        }

        return taken is null ? null : new PhotoFacts(taken.Value, photo.HeightMm, photo.WidthMm);
    }

    private static ResidenceCardNumber? OptionalCardNumber(string text, string path, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (MyNumber.Contains(text))
        {
            MyNumberRefused(path, errors);
            return null;
        }

        if (ResidenceCardNumber.TryParse(text, out var number))
        {
            return number;
        }

        errors.Add(path, Reasons.InvalidCardNumber, $"{path} must be two capital letters, eight digits and two capital letters.", $"{path} は英大文字2桁・数字8桁・英大文字2桁です。");
        return null;
    }

    /// <summary>A free-text field: bounded, and never a 個人番号.</summary>
    private static void FreeText(string text, string path, int maxLength, FieldErrors errors)
    {
        if (text.Length > maxLength)
        {
            errors.Add(path, Reasons.FieldTooLong, $"{path} is longer than {maxLength} characters.", $"{path} は{maxLength}文字以内です。");
        }
        else if (MyNumber.Contains(text))
        {
            MyNumberRefused(path, errors);
        }
    }

    private static void MyNumberRefused(string path, FieldErrors errors) =>
        errors.Add(path, Reasons.MyNumberNotAccepted,
            $"{path} holds what looks like a 個人番号 (My Number); the router never accepts one. Remove it.",
            $"{path} に個人番号(マイナンバー)と思われる値があります。個人番号は受け付けられません。");

    private static DateOnly? RequiredDate(Google.Type.Date? date, string path, FieldErrors errors)
    {
        if (IsUnset(date))
        {
            errors.Required(path);
            return null;
        }

        return ValidDate(date!, path, errors);
    }

    private static DateOnly? OptionalDate(Google.Type.Date? date, string path, FieldErrors errors) =>
        IsUnset(date) ? null : ValidDate(date!, path, errors);

    private static bool IsUnset(Google.Type.Date? date) => date is null || (date.Year == 0 && date.Month == 0 && date.Day == 0);

    private static DateOnly? ValidDate(Google.Type.Date date, string path, FieldErrors errors)
    {
        if (date.Year is >= 1 and <= 9999 && date.Month is >= 1 and <= 12 && date.Day >= 1 && date.Day <= DateTime.DaysInMonth(date.Year, date.Month))
        {
            return new DateOnly(date.Year, date.Month, date.Day);
        }

        errors.Add(path, Reasons.InvalidDate, $"{path} must be a full calendar date (year, month and day).", $"{path} は年月日のそろった正しい日付です。");
        return null;
    }

    private static void NotAfterFiling(DateOnly? date, DateOnly? filedOn, string path, FieldErrors errors)
    {
        if (date is { } d && filedOn is { } f && d > f)
        {
            errors.Add(path, Reasons.DateOutOfOrder, $"{path} must not be after application.filed_on.", $"{path} は申請日以前の日付です。");
        }
    }

    private static T? EnumError<T>(bool unspecified, string path, FieldErrors errors)
        where T : struct
    {
        if (unspecified)
        {
            errors.Required(path);
        }
        else
        {
            errors.Add(path, Reasons.InvalidEnumValue, $"{path} holds a value this server does not know.", $"{path} の値が不正です。");
        }

        return null;
    }
}
