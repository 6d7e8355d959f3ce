using Google.Protobuf.WellKnownTypes;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Core.Routing;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>Domain → proto for decisions, offices and procedures.</summary>
internal static class ReplyMapper
{
    public static V1.Decision Decision(RouteDecision decision, TimeSpan referenceAge)
    {
        var reply = new V1.Decision
        {
            Jurisdiction = Jurisdiction(decision.Jurisdiction),
            Destination = decision.Destination is null ? null : Office(decision.Destination),
            CardKind = Card(decision.CardKind),
            Documents = new V1.DocumentChecklist { Complete = decision.DocumentsComplete },
            ReferenceDataVersion = decision.ReferenceDataVersion,
            ReferenceDataAge = Duration.FromTimeSpan(referenceAge < TimeSpan.Zero ? TimeSpan.Zero : referenceAge),
        };
        reply.Trace.AddRange(decision.Trace.Select(r => new V1.RuleResult
        {
            RuleId = r.RuleId,
            Outcome = r.Outcome switch
            {
                RuleOutcome.Passed => V1.RuleOutcome.Passed,
                RuleOutcome.Failed => V1.RuleOutcome.Failed,
                RuleOutcome.Warning => V1.RuleOutcome.Warning,
                _ => V1.RuleOutcome.NotApplicable,
            },
            LegalBasis = r.LegalBasis,
            MessageJa = r.MessageJa,
            MessageEn = r.MessageEn,
        }));
        reply.Documents.Items.AddRange(decision.Documents.Select(d => new V1.DocumentCheck
        {
            Kind = Document(d.Kind),
            Requirement = d.Requirement switch
            {
                DocumentRequirement.Required => V1.DocumentRequirement.Required,
                DocumentRequirement.Waived => V1.DocumentRequirement.Waived,
                _ => V1.DocumentRequirement.Optional,
            },
            Status = d.Status switch
            {
                DocumentStatus.Present => V1.DocumentStatus.Present,
                DocumentStatus.Missing => V1.DocumentStatus.Missing,
                DocumentStatus.Waived => V1.DocumentStatus.Waived,
                _ => V1.DocumentStatus.Defective,
            },
            RuleId = d.RuleId,
            ReasonJa = d.ReasonJa,
            ReasonEn = d.ReasonEn,
        }));
        return reply;
    }

    public static V1.Violation Violation(Finding f) =>
        new() { RuleId = f.RuleId, Reason = f.Reason, Field = f.Field, MessageJa = f.MessageJa, MessageEn = f.MessageEn };

    public static V1.Warning Warning(Finding f) =>
        new() { RuleId = f.RuleId, Reason = f.Reason, Field = f.Field, MessageJa = f.MessageJa, MessageEn = f.MessageEn };

    public static V1.Office Office(Office office)
    {
        var reply = new V1.Office
        {
            Kind = OfficeKind(office.Kind),
            Code = office.Code,
            NameJa = office.NameJa,
            NameEn = office.NameEn,
            NameKana = office.NameKana,
            ParentCode = office.ParentCode,
            PrefectureCode = office.PrefectureCode,
            Routable = office.Routable,
        };
        reply.ResidencePrefectureCodes.AddRange(office.ResidencePrefectures);
        return reply;
    }

    public static V1.Procedure Procedure(ProcedureInfo procedure)
    {
        var reply = new V1.Procedure
        {
            AccompanyingProcedure = ProtoCodes.Procedure(procedure.Code),
            Code = procedure.Code,
            CardKind = Card(procedure.Card),
            Jurisdiction = Jurisdiction(procedure.Jurisdiction),
            Eligible = procedure.Eligible,
            NameJa = procedure.NameJa,
            NameEn = procedure.NameEn,
            LegalBasis = procedure.LegalBasis,
            PhotoRule = procedure.Photo switch
            {
                PhotoRule.WithAccompanyingAge16Plus => V1.PhotoRule.WithAccompanyingAge16Plus,
                PhotoRule.AlwaysSeparate => V1.PhotoRule.AlwaysSeparate,
                _ => V1.PhotoRule.Unspecified,
            },
            DeadlineDays = procedure.DeadlineDays ?? 0,
            Confidence = procedure.Confidence,
            SourceUrl = procedure.Source,
        };
        reply.DeemedWith.AddRange(procedure.DeemedWith.Select(ProtoCodes.Notification));
        if (procedure.Eligible)
        {
            reply.RequiredDocuments.AddRange(RequiredDocuments(procedure).Select(Document));
        }

        return reply;
    }

    /// <summary>What an applicant aged 16 or over filing in person hands in (DOCS_REQUIRED, DOCS_PHOTO, DOCS_ACCOMPANYING).</summary>
    private static IEnumerable<DocumentKind> RequiredDocuments(ProcedureInfo procedure)
    {
        yield return DocumentKind.TokuteiApplicationForm;
        yield return DocumentKind.PinSettingRequest;
        if (procedure.Photo == PhotoRule.AlwaysSeparate)
        {
            yield return DocumentKind.Photo;
        }

        yield return DocumentKind.AccompanyingForm;
        if (procedure.CardShown)
        {
            yield return procedure.Card == CardKind.SpecifiedSprCertificate ? DocumentKind.SprCertificate : DocumentKind.ResidenceCard;
        }

        if (procedure.PassportRequired)
        {
            yield return DocumentKind.Passport;
        }
    }

    public static V1.Jurisdiction Jurisdiction(Jurisdiction? jurisdiction) => jurisdiction switch
    {
        Core.Reference.Jurisdiction.RegionalBureau => V1.Jurisdiction.RegionalBureau,
        Core.Reference.Jurisdiction.Municipality => V1.Jurisdiction.Municipality,
        _ => V1.Jurisdiction.Unspecified,
    };

    public static V1.CardKind Card(CardKind? card) => card switch
    {
        CardKind.SpecifiedResidenceCard => V1.CardKind.SpecifiedResidenceCard,
        CardKind.SpecifiedSprCertificate => V1.CardKind.SpecifiedSprCertificate,
        _ => V1.CardKind.Unspecified,
    };

    public static V1.OfficeKind OfficeKind(OfficeKind kind) => kind switch
    {
        Core.Reference.OfficeKind.RegionalBureau => V1.OfficeKind.RegionalBureau,
        Core.Reference.OfficeKind.DistrictOffice => V1.OfficeKind.DistrictOffice,
        Core.Reference.OfficeKind.AirportOffice => V1.OfficeKind.AirportOffice,
        Core.Reference.OfficeKind.Municipality => V1.OfficeKind.Municipality,
        Core.Reference.OfficeKind.SpecialWard => V1.OfficeKind.SpecialWard,
        Core.Reference.OfficeKind.DesignatedCity => V1.OfficeKind.DesignatedCity,
        _ => V1.OfficeKind.CityWard,
    };

    public static OfficeKind? OfficeKind(V1.OfficeKind kind) => kind switch
    {
        V1.OfficeKind.RegionalBureau => Core.Reference.OfficeKind.RegionalBureau,
        V1.OfficeKind.DistrictOffice => Core.Reference.OfficeKind.DistrictOffice,
        V1.OfficeKind.AirportOffice => Core.Reference.OfficeKind.AirportOffice,
        V1.OfficeKind.Municipality => Core.Reference.OfficeKind.Municipality,
        V1.OfficeKind.SpecialWard => Core.Reference.OfficeKind.SpecialWard,
        V1.OfficeKind.DesignatedCity => Core.Reference.OfficeKind.DesignatedCity,
        V1.OfficeKind.CityWard => Core.Reference.OfficeKind.CityWard,
        _ => null,
    };

    public static V1.DocumentKind Document(DocumentKind kind) => kind switch
    {
        DocumentKind.TokuteiApplicationForm => V1.DocumentKind.TokuteiApplicationForm,
        DocumentKind.PinSettingRequest => V1.DocumentKind.PinSettingRequest,
        DocumentKind.Photo => V1.DocumentKind.Photo,
        DocumentKind.AccompanyingForm => V1.DocumentKind.AccompanyingForm,
        DocumentKind.Passport => V1.DocumentKind.Passport,
        DocumentKind.ResidenceCard => V1.DocumentKind.ResidenceCard,
        DocumentKind.SprCertificate => V1.DocumentKind.SprCertificate,
        DocumentKind.RelationshipProof => V1.DocumentKind.RelationshipProof,
        _ => V1.DocumentKind.Other,
    };
}
