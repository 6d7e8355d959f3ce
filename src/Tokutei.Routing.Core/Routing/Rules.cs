namespace Tokutei.Routing.Core.Routing;

/// <summary>A rule of DOMAIN.md: its stable id and its legal basis.</summary>
public sealed record RuleDefinition(string Id, string LegalBasis);

/// <summary>The rules, in the order the engine evaluates them. Ids are stable: decisions and violations cite them.</summary>
public static class Rules
{
    public static readonly RuleDefinition OperationStart = new("OPERATION_START", "令和6年法律第59号 附則");
    public static readonly RuleDefinition FiledOnNotFuture = new("FILED_ON_NOT_FUTURE", "申請日は日本時間の当日以前");
    public static readonly RuleDefinition ApplicantStatus = new("APPLICANT_STATUS", "入管法19条の15の2, 入管特例法16条の2");
    public static readonly RuleDefinition ResidentRegister = new("RESIDENT_REGISTER", "入管法19条の15の2, 入管特例法16条の2 (住民基本台帳に記録されている者)");
    public static readonly RuleDefinition CardKind = new("CARD_KIND", "入管法19条の15の2, 入管特例法16条の2");
    public static readonly RuleDefinition ProcedureEligible = new("PROCEDURE_ELIGIBLE", "入管法19条の15の2, 入管特例法16条の2 (併せて行う手続)");
    public static readonly RuleDefinition DeemedNotification = new("DEEMED_NOTIFICATION", "入管法19条の7第3項, 19条の8第3項, 19条の9第3項, 入管特例法10条");
    public static readonly RuleDefinition Channel = new("CHANNEL", "運用 (在留申請オンラインシステム非対応, 3P)");
    public static readonly RuleDefinition DestinationBureau = new("DESTINATION_BUREAU", "地方出入国在留管理局の管轄区域 (3P)");
    public static readonly RuleDefinition DestinationMunicipality = new("DESTINATION_MUNICIPALITY", "住居地の市区町村 (政令指定都市は区, 地方自治法252条の20)");
    public static readonly RuleDefinition Filer = new("FILER", "本人出頭原則; 16歳未満又は疾病等による代理 (3P)");
    public static readonly RuleDefinition DocsRequired = new("DOCS_REQUIRED", "入管法19条の15の2, 施行規則 (申請書, 暗証番号等設定依頼書)");
    public static readonly RuleDefinition DocsPhoto = new("DOCS_PHOTO", "施行規則 (写真, 併せて行う手続で提出する場合は不要)");
    public static readonly RuleDefinition PhotoSpec = new("PHOTO_SPEC", "施行規則 (六月以内に撮影, 縦40mm×横30mm)");
    public static readonly RuleDefinition DocsAccompanying = new("DOCS_ACCOMPANYING", "併せて行う手続の提出書類");
    public static readonly RuleDefinition DocsConsistent = new("DOCS_CONSISTENT", "書類の記載事項の一致");
    public static readonly RuleDefinition LateFiling = new("LATE_FILING", "届出期限 14日以内");

    /// <summary>Every rule, in evaluation order.</summary>
    public static readonly IReadOnlyList<RuleDefinition> All =
    [
        OperationStart, FiledOnNotFuture, ApplicantStatus, ResidentRegister, CardKind, ProcedureEligible,
        DeemedNotification, Channel, DestinationBureau, DestinationMunicipality, Filer, DocsRequired, DocsPhoto,
        PhotoSpec, DocsAccompanying, DocsConsistent, LateFiling,
    ];
}
