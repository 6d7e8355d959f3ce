namespace Tokutei.Routing.Core.Routing;

/// <summary>Names of document kinds for messages, in Japanese and English.</summary>
public static class DocumentNames
{
    public static string Ja(DocumentKind kind) => kind switch
    {
        DocumentKind.TokuteiApplicationForm => "特定在留カード等交付申請書",
        DocumentKind.PinSettingRequest => "暗証番号等設定依頼書",
        DocumentKind.Photo => "写真",
        DocumentKind.AccompanyingForm => "併せて行う手続の申請書・届出書",
        DocumentKind.Passport => "旅券",
        DocumentKind.ResidenceCard => "在留カード",
        DocumentKind.SprCertificate => "特別永住者証明書",
        DocumentKind.RelationshipProof => "申請人との関係を証する書類",
        _ => "その他の書類",
    };

    public static string En(DocumentKind kind) => kind switch
    {
        DocumentKind.TokuteiApplicationForm => "tokutei application form",
        DocumentKind.PinSettingRequest => "PIN setting request",
        DocumentKind.Photo => "photo",
        DocumentKind.AccompanyingForm => "form of the accompanying procedure",
        DocumentKind.Passport => "passport",
        DocumentKind.ResidenceCard => "residence card",
        DocumentKind.SprCertificate => "special permanent resident certificate",
        DocumentKind.RelationshipProof => "proof of the filer's relationship to the applicant",
        _ => "other document",
    };
}
