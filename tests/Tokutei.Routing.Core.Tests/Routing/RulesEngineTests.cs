using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Core.Routing;
using static Tokutei.Routing.Core.Tests.Routing.Applications;

namespace Tokutei.Routing.Core.Tests.Routing;

public sealed class RulesEngineTests
{
    private static Finding Single(RouteDecision decision, string reason)
    {
        Assert.False(decision.Accepted);
        return Assert.Single(decision.Violations, v => v.Reason == reason);
    }

    private static void Outcome(RouteDecision decision, string ruleId, RuleOutcome outcome) =>
        Assert.Contains(decision.Trace, r => r.RuleId == ruleId && r.Outcome == outcome);

    [Fact]
    public void Decide_ValidBureauCase_IsAcceptedToTokyo()
    {
        var decision = Bureau().Decide();
        Assert.True(decision.Accepted, string.Join(", ", decision.Violations.Select(v => v.Reason)));
        Assert.Equal(Jurisdiction.RegionalBureau, decision.Jurisdiction);
        Assert.Equal("TOKYO", decision.Destination!.Code);
        Assert.Equal(CardKind.SpecifiedResidenceCard, decision.CardKind);
        Assert.True(decision.DocumentsComplete);
        Assert.Equal(Data.Version, decision.ReferenceDataVersion);
    }

    [Fact]
    public void Decide_ValidMunicipalCase_IsAcceptedToTheMunicipality()
    {
        var decision = Municipal().Decide();
        Assert.True(decision.Accepted, string.Join(", ", decision.Violations.Select(v => v.Reason)));
        Assert.Equal(Jurisdiction.Municipality, decision.Jurisdiction);
        Assert.Equal("272035", decision.Destination!.Code);
        Assert.Empty(decision.Warnings);
    }

    [Fact]
    public void Decide_EveryRuleIsTraced_InOrder()
    {
        var ids = Bureau().Decide().Trace.Select(r => r.RuleId).Distinct().ToList();
        Assert.Equal(Rules.All.Select(r => r.Id), ids);
    }

    [Theory]
    [InlineData(2026, 6, 13, false)]
    [InlineData(2026, 6, 14, true)]
    public void OperationStart(int year, int month, int day, bool accepted)
    {
        var decision = (Bureau() with { FiledOn = new DateOnly(year, month, day) }).Decide();
        Assert.Equal(accepted, decision.Violations.All(v => v.Reason != Reasons.NotYetInOperation));
        Outcome(decision, "OPERATION_START", accepted ? RuleOutcome.Passed : RuleOutcome.Failed);
    }

    [Fact]
    public void FiledOnNotFuture_Tomorrow_IsRefused()
    {
        var decision = RulesEngine.Decide(Bureau() with { FiledOn = Today.AddDays(1) }, Data, Today);
        Assert.Equal("application.filed_on", Single(decision, Reasons.FiledOnInFuture).Field);
        Assert.Equal(FailureClass.InvalidArgument, Reasons.Get(Reasons.FiledOnInFuture).Class);
    }

    [Theory]
    [InlineData(ApplicantCategory.Other, false)]
    [InlineData(ApplicantCategory.MidToLongTermResident, true)]
    public void ApplicantStatus(ApplicantCategory category, bool accepted)
    {
        var decision = (Bureau() with { Applicant = Bureau().Applicant with { Category = category } }).Decide();
        Assert.Equal(accepted, decision.Violations.All(v => v.Reason != Reasons.ApplicantNotEligible));
        Assert.Equal(accepted ? CardKind.SpecifiedResidenceCard : null, decision.CardKind);
    }

    [Fact]
    public void ResidentRegister_NotRegistered_IsRefused() =>
        Single((Bureau() with { Applicant = Bureau().Applicant with { ResidentRecord = ResidentRecord.NotRegistered } }).Decide(), Reasons.NotInResidentRegister);

    [Fact]
    public void ResidentRegister_RegisteredByThisFiling_OnBureauProcedure_IsRefused() =>
        Single((Bureau() with { Applicant = Bureau().Applicant with { ResidentRecord = ResidentRecord.RegisteredByThisFiling } }).Decide(), Reasons.NotInResidentRegister);

    [Theory]
    [InlineData("JUMIN_22", true)] // 転入届 records the person
    [InlineData("JUMIN_23", false)] // 転居届: a move within the municipality, already recorded
    public void ResidentRegister_RegisteredByThisFiling_NeedsAMovingInNotification(string notification, bool accepted)
    {
        var application = Municipal() with
        {
            Applicant = Municipal().Applicant with { ResidentRecord = ResidentRecord.RegisteredByThisFiling },
            ResidentNotificationCode = notification,
        };
        var decision = application.Decide();
        Assert.Equal(accepted, decision.Violations.All(v => v.Reason != Reasons.NotInResidentRegister));
    }

    [Fact]
    public void CardKind_SpecialPermanentResident_GetsTheSprCertificate()
    {
        var decision = Spr().Decide();
        Assert.True(decision.Accepted, string.Join(", ", decision.Violations.Select(v => v.Reason)));
        Assert.Equal(CardKind.SpecifiedSprCertificate, decision.CardKind);
        Assert.Equal("131016", decision.Destination!.Code);
    }

    [Theory]
    [InlineData("CARD_REISSUE_LOSS")]
    [InlineData("REENTRY_PERMIT")]
    [InlineData("MOVE_OUT_NOTIFICATION")]
    [InlineData("NO_SUCH_PROCEDURE")]
    public void ProcedureEligible_NotAccompanying_IsRefusedByName(string procedure)
    {
        var finding = Single((Bureau() with { ProcedureCode = procedure }).Decide(), Reasons.ProcedureNotAccompanying);
        Assert.Equal("application.procedure", finding.Field);
        var known = Data.FindProcedure(procedure);
        if (known is not null)
        {
            Assert.Contains(known.NameJa, finding.MessageJa, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ProcedureEligible_SprApplicantOnResidenceCardProcedure_IsMismatch() =>
        Single((Bureau() with { Applicant = Bureau().Applicant with { Category = ApplicantCategory.SpecialPermanentResident } }).Decide(), Reasons.ProcedureCardMismatch);

    [Fact]
    public void ProcedureEligible_ResidentOnSprProcedure_IsMismatch() =>
        Single((Spr() with { Applicant = Spr().Applicant with { Category = ApplicantCategory.MidToLongTermResident } }).Decide(), Reasons.ProcedureCardMismatch);

    [Theory]
    [InlineData("NONE", true, "application.resident_notification")]
    [InlineData("JUMIN_23", true, "application.resident_notification")] // 19-8 is deemed only with 30-46 / 30-47
    [InlineData("JUMIN_30_47", false, "application.card_submitted")]
    public void DeemedNotification_StatusAcquiredResidence(string notification, bool cardSubmitted, string field)
    {
        var application = Municipal() with { ProcedureCode = "STATUS_ACQUIRED_RESIDENCE", ResidentNotificationCode = notification, CardSubmitted = cardSubmitted };
        Assert.Equal(field, Single(application.Decide(), Reasons.NotDeemedResidenceNotification).Field);
    }

    [Theory]
    [InlineData("CHANGE_OF_RESIDENCE", "JUMIN_22")]
    [InlineData("CHANGE_OF_RESIDENCE", "JUMIN_23")]
    [InlineData("CHANGE_OF_RESIDENCE", "JUMIN_30_46")]
    [InlineData("STATUS_ACQUIRED_RESIDENCE", "JUMIN_30_47")]
    public void DeemedNotification_ListedNotificationWithCard_IsDeemed(string procedure, string notification)
    {
        var decision = (Municipal() with { ProcedureCode = procedure, ResidentNotificationCode = notification }).Decide();
        Outcome(decision, "DEEMED_NOTIFICATION", RuleOutcome.Passed);
    }

    [Fact]
    public void DeemedNotification_BureauProcedure_DoesNotApply() =>
        Outcome(Bureau().Decide(), "DEEMED_NOTIFICATION", RuleOutcome.NotApplicable);

    [Fact]
    public void Channel_Online_IsRefused() =>
        Single((Bureau() with { Channel = FilingChannel.OnlineResidenceApplicationSystem }).Decide(), Reasons.ChannelNotSupported);

    [Theory]
    [InlineData("012025", "SAPPORO")]
    [InlineData("042021", "SENDAI")]
    [InlineData("131016", "TOKYO")]
    [InlineData("142018", "YOKOHAMA")]
    [InlineData("232017", "NAGOYA")]
    [InlineData("272035", "OSAKA")]
    [InlineData("282014", "KOBE")]
    [InlineData("342025", "HIROSHIMA")]
    [InlineData("372013", "TAKAMATSU")]
    [InlineData("402036", "FUKUOKA")]
    [InlineData("472018", "NAHA")]
    [InlineData("011002", "SAPPORO")] // a designated city's own code is a fine address for a bureau case
    public void DestinationBureau_ByPrefectureOfResidence(string residence, string office)
    {
        var decision = (Bureau() with { Residence = Code(residence) }).Decide();
        Assert.True(decision.Accepted);
        Assert.Equal(office, decision.Destination!.Code);
        Assert.True(decision.Destination.Routable);
        Assert.NotEqual(OfficeKind.AirportOffice, decision.Destination.Kind);
    }

    [Fact]
    public void DestinationMunicipality_DesignatedCity_RequiresAWard()
    {
        var finding = Single((Municipal() with { Residence = Code("011002") }).Decide(), Reasons.WardRequired);
        foreach (var ward in new[] { "011011", "011029", "011037", "011045", "011053", "011061", "011070", "011088", "011096", "011100" })
        {
            Assert.Contains(ward, finding.MessageEn, StringComparison.Ordinal);
            Assert.Contains(ward, finding.MessageJa, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("011011", OfficeKind.CityWard)]
    [InlineData("131016", OfficeKind.SpecialWard)]
    [InlineData("272035", OfficeKind.Municipality)]
    public void DestinationMunicipality_RoutesToTheLocalGovernment(string residence, OfficeKind kind)
    {
        var decision = (Municipal() with { Residence = Code(residence) }).Decide();
        Assert.True(decision.Accepted);
        Assert.Equal(residence, decision.Destination!.Code);
        Assert.Equal(kind, decision.Destination.Kind);
    }

    [Theory]
    [InlineData("019992")] // 01999 + check digit 2: well-formed, but no such municipality
    [InlineData("480002")] // prefecture 48 does not exist
    public void Destination_UnknownLocalGovernment_IsRefused(string residence)
    {
        Assert.Equal("application.residence_local_government_code", Single((Municipal() with { Residence = Code(residence) }).Decide(), Reasons.UnknownLocalGovernment).Field);
        Single((Bureau() with { Residence = Code(residence) }).Decide(), Reasons.UnknownLocalGovernment);
    }

    [Fact]
    public void Filer_RelativeForAnAdultWhoCanAppear_IsRefused() =>
        Single((Bureau() with { Filer = new Filer(FilerKind.Relative, false) }).With(Doc(DocumentKind.RelationshipProof)).Decide(), Reasons.FilerNotAllowed);

    [Fact]
    public void Filer_RelativeForAnAdultUnableToAppear_IsAllowedWithProof()
    {
        var application = Bureau() with { Filer = new Filer(FilerKind.Relative, true) };
        Single(application.Decide(), Reasons.DocumentMissing);
        Assert.True(application.With(Doc(DocumentKind.RelationshipProof)).Decide().Accepted);
    }

    [Fact]
    public void Filer_LegalRepresentativeForAChild_IsAllowedWithProof()
    {
        var child = Bureau() with
        {
            Applicant = Bureau().Applicant with { BirthDate = new DateOnly(2012, 1, 1) },
            Filer = new Filer(FilerKind.LegalRepresentative, false),
        };
        var missing = child.With(Photo(new DateOnly(2026, 6, 1))).Decide();
        Assert.Contains(missing.Documents, d => d.Kind == DocumentKind.RelationshipProof && d.Status == DocumentStatus.Missing);
        Assert.True(child.With(Photo(new DateOnly(2026, 6, 1)), Doc(DocumentKind.RelationshipProof)).Decide().Accepted);
    }

    [Theory]
    [InlineData(DocumentKind.TokuteiApplicationForm, "DOCS_REQUIRED")]
    [InlineData(DocumentKind.PinSettingRequest, "DOCS_REQUIRED")]
    [InlineData(DocumentKind.AccompanyingForm, "DOCS_ACCOMPANYING")]
    [InlineData(DocumentKind.ResidenceCard, "DOCS_ACCOMPANYING")]
    [InlineData(DocumentKind.Passport, "DOCS_ACCOMPANYING")]
    public void Documents_MissingRequired_IsRefused(DocumentKind kind, string ruleId)
    {
        var decision = Bureau().Without(kind).Decide();
        Assert.Equal(ruleId, Single(decision, Reasons.DocumentMissing).RuleId);
        Assert.Contains(decision.Documents, d => d.Kind == kind && d.Status == DocumentStatus.Missing);
        Assert.False(decision.DocumentsComplete);
    }

    [Fact]
    public void DocsAccompanying_CardShownNeedsTheCardNumber()
    {
        var finding = Single((Bureau() with { Applicant = Bureau().Applicant with { CardNumber = null } }).Decide(), Reasons.FieldRequired);
        Assert.Equal("application.applicant.card_number", finding.Field);
        Assert.Equal(FailureClass.InvalidArgument, Reasons.Get(finding.Reason).Class);
    }

    [Fact]
    public void Filer_ProxyWithoutProof_FailsTheFilerRuleInTheTrace()
    {
        var decision = (Bureau() with { Filer = new Filer(FilerKind.Relative, true) }).Decide();
        Outcome(decision, "FILER", RuleOutcome.Failed);
        Assert.Single(decision.Trace, r => r.RuleId == "FILER");
    }

    [Fact]
    public void DeemedNotification_BothConditionsBroken_TracedOnceWithTwoViolations()
    {
        var decision = (Municipal() with { ResidentNotificationCode = "NONE", CardSubmitted = false }).Decide();
        Assert.Single(decision.Trace, r => r.RuleId == "DEEMED_NOTIFICATION");
        Assert.Equal(2, decision.Violations.Count(v => v.Reason == Reasons.NotDeemedResidenceNotification));
    }

    [Fact]
    public void Decide_FiledInYearOne_IsRefusedNotThrown() =>
        Single((Municipal() with { FiledOn = new DateOnly(1, 1, 1), EventDate = new DateOnly(1, 1, 1) }).Decide(), Reasons.NotYetInOperation);

    [Fact]
    public void Documents_PassportIsNotNeededForANotification() =>
        Assert.True(Municipal().Decide().Accepted);

    [Fact]
    public void Documents_NewLandingNeedsNoCardButAPassport()
    {
        var landing = (Municipal() with { ProcedureCode = "NEW_LANDING_RESIDENCE", ResidentNotificationCode = "JUMIN_30_46" }).Without(DocumentKind.ResidenceCard);
        Single(landing.Decide(), Reasons.DocumentMissing);
        Assert.True(landing.With(Doc(DocumentKind.Passport)).Decide().Accepted);
    }

    [Theory]
    [InlineData(2010, 7, 1, true)] // 16 on the filing day: the accompanying procedure's photo serves
    [InlineData(2010, 7, 2, false)] // 15: a photo of its own is needed
    public void DocsPhoto_WaivedFrom16ForProceduresThatSubmitOne(int year, int month, int day, bool waived)
    {
        var application = Bureau() with
        {
            Applicant = Bureau().Applicant with { BirthDate = new DateOnly(year, month, day) },
        };
        var decision = application.Decide();
        var photo = Assert.Single(decision.Documents, d => d.Kind == DocumentKind.Photo);
        Assert.Equal(waived ? DocumentRequirement.Waived : DocumentRequirement.Required, photo.Requirement);
        Assert.Equal(waived, decision.Accepted);
    }

    [Fact]
    public void DocsPhoto_NotificationsAlwaysNeedOne() =>
        Assert.Equal("DOCS_PHOTO", Single(Municipal().Without(DocumentKind.Photo).Decide(), Reasons.DocumentMissing).RuleId);

    [Theory]
    [InlineData(2026, 1, 1, true)] // exactly six months before 2026-07-01
    [InlineData(2025, 12, 31, false)]
    public void PhotoSpec_TakenWithinSixMonths(int year, int month, int day, bool accepted)
    {
        var application = Municipal().Without(DocumentKind.Photo).With(Photo(new DateOnly(year, month, day)));
        var decision = application.Decide();
        Assert.Equal(accepted, decision.Accepted);
        if (!accepted)
        {
            Assert.Equal("application.documents[4].photo.taken_on", Single(decision, Reasons.PhotoTooOld).Field);
            Assert.Contains(decision.Documents, d => d.Kind == DocumentKind.Photo && d.Status == DocumentStatus.Defective);
        }
    }

    [Theory]
    [InlineData(40, 30, true)]
    [InlineData(0, 0, true)] // not measured
    [InlineData(40, 0, true)] // width not measured
    [InlineData(45, 0, false)]
    [InlineData(45, 35, false)]
    [InlineData(30, 40, false)]
    public void PhotoSpec_Size(int height, int width, bool accepted)
    {
        var decision = Municipal().Without(DocumentKind.Photo).With(Photo(new DateOnly(2026, 6, 1), height, width)).Decide();
        Assert.Equal(accepted, decision.Accepted);
        if (!accepted)
        {
            Single(decision, Reasons.PhotoSizeWrong);
        }
    }

    [Fact]
    public void DocsConsistent_AgreeingFacts_AreAccepted()
    {
        var facts = new DocumentFacts(new PersonName("nguyen", "VAN  AN", string.Empty), new DateOnly(1990, 4, 1), Card("AB12345678CD"));
        Assert.True(Bureau().Without(DocumentKind.ResidenceCard).With(Doc(DocumentKind.ResidenceCard, facts)).Decide().Accepted);
    }

    [Fact]
    public void DocsConsistent_EachDisagreeingFieldIsListed()
    {
        var facts = new DocumentFacts(new PersonName("TRAN", "VAN AN", string.Empty), new DateOnly(1990, 4, 2), Card("ZZ12345678CD"));
        var decision = Bureau().Without(DocumentKind.ResidenceCard).With(Doc(DocumentKind.ResidenceCard, facts)).Decide();
        var fields = decision.Violations.Where(v => v.Reason == Reasons.DocumentFactsMismatch).Select(v => v.Field).ToList();
        Assert.Equal(
            ["application.documents[4].facts.holder_name.family_name", "application.documents[4].facts.holder_birth_date", "application.documents[4].facts.card_number"],
            fields);
        Assert.All(decision.Violations, v => Assert.DoesNotContain("TRAN", v.MessageEn, StringComparison.Ordinal));
        Assert.All(decision.Violations, v => Assert.DoesNotContain("ZZ12345678CD", v.MessageEn, StringComparison.Ordinal));
    }

    [Fact]
    public void DocsConsistent_WithoutACardNumberTheDocumentsMustAgreeWithEachOther()
    {
        var application = (Bureau() with { Applicant = Bureau().Applicant with { CardNumber = null } })
            .Without(DocumentKind.ResidenceCard)
            .With(
                Doc(DocumentKind.ResidenceCard, new DocumentFacts(null, null, Card("AB12345678CD"))),
                Doc(DocumentKind.Other, new DocumentFacts(null, null, Card("AB87654321CD"))));
        Assert.Equal("application.documents[5].facts.card_number", Single(application.Decide(), Reasons.DocumentFactsMismatch).Field);
    }

    [Fact]
    public void DocsConsistent_VariantKanjiAreNotFolded()
    {
        var applicant = Bureau().Applicant with { Name = new PersonName(string.Empty, string.Empty, "髙橋") };
        var facts = new DocumentFacts(new PersonName(string.Empty, string.Empty, "高橋"), null, null);
        var decision = (Bureau() with { Applicant = applicant }).Without(DocumentKind.ResidenceCard).With(Doc(DocumentKind.ResidenceCard, facts)).Decide();
        Single(decision, Reasons.DocumentFactsMismatch);
    }

    [Theory]
    [InlineData(14, false)]
    [InlineData(15, true)]
    public void LateFiling_IsAWarningNeverARefusal(int daysBeforeFiling, bool late)
    {
        var decision = (Municipal() with { EventDate = Today.AddDays(-daysBeforeFiling) }).Decide();
        Assert.True(decision.Accepted);
        Assert.Equal(late, decision.Warnings.Any(w => w.Reason == Reasons.LateFiling));
    }

    [Fact]
    public void LateFiling_ApplicationsWithoutDeadline_NeverWarn() =>
        Assert.Empty((Bureau() with { EventDate = new DateOnly(2026, 1, 1) }).Decide().Warnings);

    [Fact]
    public void Decide_ReportsEveryViolationAtOnce()
    {
        var application = (Bureau() with
        {
            Applicant = Bureau().Applicant with { Category = ApplicantCategory.Other, ResidentRecord = ResidentRecord.NotRegistered },
            Channel = FilingChannel.OnlineResidenceApplicationSystem,
            FiledOn = new DateOnly(2026, 6, 1),
        }).Without(DocumentKind.PinSettingRequest);
        var reasons = application.Decide().Violations.Select(v => v.Reason).ToHashSet();
        Assert.Superset(
            new HashSet<string> { Reasons.NotYetInOperation, Reasons.ApplicantNotEligible, Reasons.NotInResidentRegister, Reasons.ChannelNotSupported, Reasons.DocumentMissing },
            reasons);
    }

    [Fact]
    public void Decide_EveryViolationReasonIsInTheCatalogue()
    {
        var application = (Bureau() with { ProcedureCode = "CARD_REISSUE_LOSS", Channel = FilingChannel.OnlineResidenceApplicationSystem }).Without(DocumentKind.Passport);
        Assert.All(application.Decide().Violations, v => Assert.NotNull(Reasons.Get(v.Reason)));
    }
}
