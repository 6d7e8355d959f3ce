using System.Collections.Frozen;

namespace Tokutei.Routing.Core.Routing;

/// <summary>How a failure is answered; the server maps each to a gRPC status code.</summary>
public enum FailureClass
{
    InvalidArgument,
    FailedPrecondition,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    Unavailable,
    DeadlineExceeded,
    Internal,
    Warning,
}

/// <summary>One entry of the published error reason catalogue.</summary>
public sealed record ReasonEntry(string Reason, FailureClass Class, string DescriptionEn, string DescriptionJa);

/// <summary>
/// The published catalogue of error reasons (ErrorInfo.reason, domain "tokutei.routing"). Clients switch on
/// these names, so a name never changes meaning; new ones are added, old ones are never reused.
/// </summary>
public static class Reasons
{
    public const string Domain = "tokutei.routing";

    // Malformed input (INVALID_ARGUMENT, with BadRequest).
    public const string FieldRequired = "FIELD_REQUIRED";
    public const string FieldTooLong = "FIELD_TOO_LONG";
    public const string InvalidRequestId = "INVALID_REQUEST_ID";
    public const string InvalidEnumValue = "INVALID_ENUM_VALUE";
    public const string InvalidDate = "INVALID_DATE";
    public const string DateOutOfOrder = "DATE_OUT_OF_ORDER";
    public const string InvalidLocalGovernmentCode = "INVALID_LOCAL_GOVERNMENT_CODE";
    public const string LocalGovernmentCodeCheckDigit = "LOCAL_GOVERNMENT_CODE_CHECK_DIGIT";
    public const string InvalidCardNumber = "INVALID_CARD_NUMBER";
    public const string InvalidDocument = "INVALID_DOCUMENT";
    public const string TooManyDocuments = "TOO_MANY_DOCUMENTS";
    public const string MyNumberNotAccepted = "MY_NUMBER_NOT_ACCEPTED";
    public const string FiledOnInFuture = "FILED_ON_IN_FUTURE";
    public const string InvalidPageSize = "INVALID_PAGE_SIZE";
    public const string InvalidPageToken = "INVALID_PAGE_TOKEN";
    public const string InvalidCaseId = "INVALID_CASE_ID";
    public const string InvalidPrefectureCode = "INVALID_PREFECTURE_CODE";
    public const string MalformedMessage = "MALFORMED_MESSAGE";

    // Broken rules (FAILED_PRECONDITION, with PreconditionFailure).
    public const string NotYetInOperation = "NOT_YET_IN_OPERATION";
    public const string ApplicantNotEligible = "APPLICANT_NOT_ELIGIBLE";
    public const string NotInResidentRegister = "NOT_IN_RESIDENT_REGISTER";
    public const string ProcedureNotAccompanying = "PROCEDURE_NOT_ACCOMPANYING";
    public const string ProcedureCardMismatch = "PROCEDURE_CARD_MISMATCH";
    public const string NotDeemedResidenceNotification = "NOT_DEEMED_RESIDENCE_NOTIFICATION";
    public const string ChannelNotSupported = "CHANNEL_NOT_SUPPORTED";
    public const string UnknownLocalGovernment = "UNKNOWN_LOCAL_GOVERNMENT";
    public const string WardRequired = "WARD_REQUIRED";
    public const string FilerNotAllowed = "FILER_NOT_ALLOWED";
    public const string DocumentMissing = "DOCUMENT_MISSING";
    public const string PhotoTooOld = "PHOTO_TOO_OLD";
    public const string PhotoSizeWrong = "PHOTO_SIZE_WRONG";
    public const string DocumentFactsMismatch = "DOCUMENT_FACTS_MISMATCH";
    public const string RequestIdReused = "REQUEST_ID_REUSED";
    public const string CaseNotDeadLettered = "CASE_NOT_DEAD_LETTERED";

    // Identity and limits.
    public const string AuthenticationRequired = "AUTHENTICATION_REQUIRED";
    public const string RoleRequired = "ROLE_REQUIRED";
    public const string CaseAccessDenied = "CASE_ACCESS_DENIED";
    public const string RateLimited = "RATE_LIMITED";
    public const string ProcessingTimeLimit = "PROCESSING_TIME_LIMIT";

    // Other answers.
    public const string CaseNotFound = "CASE_NOT_FOUND";
    public const string OfficeNotFound = "OFFICE_NOT_FOUND";
    public const string StoreUnavailable = "STORE_UNAVAILABLE";
    public const string StoreNotDurable = "STORE_NOT_DURABLE";
    public const string InternalError = "INTERNAL_ERROR";

    // Warnings (on a decision, never a refusal).
    public const string LateFiling = "LATE_FILING";

    /// <summary>Every reason, in the order the README lists them.</summary>
    public static readonly IReadOnlyList<ReasonEntry> All =
    [
        new(FieldRequired, FailureClass.InvalidArgument, "A required field is missing.", "必須項目が指定されていません。"),
        new(FieldTooLong, FailureClass.InvalidArgument, "A field is longer than allowed.", "項目が長すぎます。"),
        new(InvalidRequestId, FailureClass.InvalidArgument, "request_id is not a UUID.", "request_id が UUID ではありません。"),
        new(InvalidEnumValue, FailureClass.InvalidArgument, "An enum field holds a value this version does not know.", "列挙値が不正です。"),
        new(InvalidDate, FailureClass.InvalidArgument, "A date is not a valid calendar date.", "日付が不正です。"),
        new(DateOutOfOrder, FailureClass.InvalidArgument, "A date is after the filing date (birth, event or photo).", "日付が申請日より後です。"),
        new(InvalidLocalGovernmentCode, FailureClass.InvalidArgument, "A local government code is not six digits.", "地方公共団体コードが6桁の数字ではありません。"),
        new(LocalGovernmentCodeCheckDigit, FailureClass.InvalidArgument, "A local government code has a wrong check digit.", "地方公共団体コードの検査数字が誤っています。"),
        new(InvalidCardNumber, FailureClass.InvalidArgument, "A card number is not two letters, eight digits and two letters.", "カード番号の形式が不正です(英字2桁・数字8桁・英字2桁)。"),
        new(InvalidDocument, FailureClass.InvalidArgument, "A document reference is malformed (id, SHA-256 digest, page count or photo facts).", "書類の参照情報が不正です。"),
        new(TooManyDocuments, FailureClass.InvalidArgument, "The case carries more documents than allowed.", "書類の数が上限を超えています。"),
        new(MyNumberNotAccepted, FailureClass.InvalidArgument, "A field holds a 個人番号 (My Number); the router never accepts one.", "個人番号(マイナンバー)は受け付けられません。"),
        new(FiledOnInFuture, FailureClass.InvalidArgument, "The filing date is after today in Japan.", "申請日が未来の日付です。"),
        new(InvalidPageSize, FailureClass.InvalidArgument, "page_size is out of range.", "page_size が範囲外です。"),
        new(InvalidPageToken, FailureClass.InvalidArgument, "page_token was not issued for this query.", "page_token が不正です。"),
        new(InvalidCaseId, FailureClass.InvalidArgument, "case_id is not a UUID.", "case_id が UUID ではありません。"),
        new(MalformedMessage, FailureClass.InvalidArgument, "The request is not a readable protobuf message of the RPC (bad framing, truncated, invalid UTF-8 in a string, or over the 1 MiB limit).", "リクエストを読み取れません(形式不正・途中で切れている・文字列のUTF-8不正・1MiB超過)。"),
        new(InvalidPrefectureCode, FailureClass.InvalidArgument, "prefecture_code is not a JIS X 0401 code from 01 to 47.", "prefecture_code が01〜47の都道府県コードではありません。"),
        new(NotYetInOperation, FailureClass.FailedPrecondition, "Filed before the system starts (2026-06-14).", "制度の施行日(2026年6月14日)より前の申請です。"),
        new(ApplicantNotEligible, FailureClass.FailedPrecondition, "The applicant is neither a mid to long-term resident nor a special permanent resident.", "申請人が中長期在留者又は特別永住者ではありません。"),
        new(NotInResidentRegister, FailureClass.FailedPrecondition, "The applicant is not recorded in the basic resident register, nor becomes so by this filing.", "申請人が住民基本台帳に記録されていません。"),
        new(ProcedureNotAccompanying, FailureClass.FailedPrecondition, "The accompanying procedure cannot carry a tokutei application.", "この手続には特定在留カード等交付申請を併せて行えません。"),
        new(ProcedureCardMismatch, FailureClass.FailedPrecondition, "The procedure is for the other card kind than the applicant's.", "手続の種類と申請人の区分(在留カード/特別永住者証明書)が一致しません。"),
        new(NotDeemedResidenceNotification, FailureClass.FailedPrecondition, "The municipal notification is not a deemed residence notification (card handed in with a listed 住民基本台帳法 notification).", "みなし住居地届出の要件(カードの提出と所定の住民異動届)を満たしていません。"),
        new(ChannelNotSupported, FailureClass.FailedPrecondition, "The filing channel cannot carry a tokutei application.", "この申請方法では特定在留カード等交付申請を行えません。"),
        new(UnknownLocalGovernment, FailureClass.FailedPrecondition, "The local government code names no current local government.", "該当する地方公共団体がありません。"),
        new(WardRequired, FailureClass.FailedPrecondition, "A designated city was given; the destination is one of its wards (listed in the message).", "政令指定都市の場合は区を指定してください。"),
        new(FilerNotAllowed, FailureClass.FailedPrecondition, "This filer may not file for this applicant.", "この申請者による代理申請はできません。"),
        new(DocumentMissing, FailureClass.FailedPrecondition, "A required document is missing.", "必要書類が不足しています。"),
        new(PhotoTooOld, FailureClass.FailedPrecondition, "The photo was taken more than six months before filing.", "写真が申請前6か月以内に撮影されたものではありません。"),
        new(PhotoSizeWrong, FailureClass.FailedPrecondition, "The photo is not 40 mm high by 30 mm wide.", "写真の大きさが縦40mm×横30mmではありません。"),
        new(DocumentFactsMismatch, FailureClass.FailedPrecondition, "A fact written on a document disagrees with the applicant or another document.", "書類の記載事項が申請人又は他の書類と一致しません。"),
        new(RequestIdReused, FailureClass.FailedPrecondition, "The request id was used before with another application.", "この request_id は別の申請で使用済みです。"),
        new(CaseNotDeadLettered, FailureClass.FailedPrecondition, "Only a dead-lettered case can be redriven.", "配送不能となった案件のみ再送できます。"),
        new(AuthenticationRequired, FailureClass.Unauthenticated, "The call carries no valid credentials (client certificate or bearer token).", "認証情報(クライアント証明書又はトークン)がないか無効です。"),
        new(RoleRequired, FailureClass.PermissionDenied, "The calling agency's roles do not allow this call.", "この機関の権限ではこの操作はできません。"),
        new(CaseAccessDenied, FailureClass.PermissionDenied, "The calling agency may not read this case (whether or not it exists).", "この案件を参照する権限がありません。"),
        new(RateLimited, FailureClass.ResourceExhausted, "The calling agency is over its rate limit; retry after the RetryInfo delay.", "呼出し回数の上限を超えました。時間をおいて再試行してください。"),
        new(ProcessingTimeLimit, FailureClass.DeadlineExceeded, "The call reached the server's processing time limit (the default or maximum deadline).", "処理時間の上限に達しました。"),
        new(CaseNotFound, FailureClass.NotFound, "No case has this id.", "該当する案件がありません。"),
        new(OfficeNotFound, FailureClass.NotFound, "No office has this code.", "該当する機関がありません。"),
        new(StoreUnavailable, FailureClass.Unavailable, "The case store cannot commit now; retry after the RetryInfo delay.", "現在案件を保存できません。時間をおいて再試行してください。"),
        new(StoreNotDurable, FailureClass.Unavailable, "The case store could lose accepted cases: a Redis server that takes or copies them is not appendonly yes, appendfsync always, no-appendfsync-on-rewrite no and noeviction, or its settings cannot be read; nothing is accepted until it is fixed.", "案件の保存先（Redis のプライマリ又はレプリカ）が永続化の要件を満たしていないか、その設定を確認できないため受け付けできません。"),
        new(InternalError, FailureClass.Internal, "An unexpected error; nothing was accepted.", "予期しないエラーが発生しました。"),
        new(LateFiling, FailureClass.Warning, "The notification is filed after its 14-day deadline; it is still accepted.", "届出期限(14日)を過ぎています(受理はされます)。"),
    ];

    private static readonly FrozenDictionary<string, ReasonEntry> ByName = All.ToFrozenDictionary(r => r.Reason, StringComparer.Ordinal);

    /// <summary>The catalogue entry of a reason; throws for a name not in the catalogue, which is a bug.</summary>
    public static ReasonEntry Get(string reason) =>
        ByName.TryGetValue(reason, out var entry) ? entry : throw new ArgumentOutOfRangeException(nameof(reason), reason, "not in the catalogue");
}
