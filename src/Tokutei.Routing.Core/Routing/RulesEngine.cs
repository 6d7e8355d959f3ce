using System.Globalization;
using System.Text;
using Tokutei.Routing.Core.Identifiers;
using Tokutei.Routing.Core.Reference;

namespace Tokutei.Routing.Core.Routing;

/// <summary>
/// The routing rules of DOMAIN.md, pure: an application, a reference snapshot and today's date in, a decision out.
/// Every rule is evaluated, so a refused case reports all of its violations at once. Messages never carry
/// personal data: they name fields and rules, not values.
/// </summary>
public static class RulesEngine
{
    private const string Application = "application";
    private const string Documents = "application.documents";

    public static RouteDecision Decide(CaseApplication application, ReferenceSnapshot reference, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(application);
        ArgumentNullException.ThrowIfNull(reference);
        var run = new Evaluation(application, reference, today);
        run.CheckOperationStart();
        run.CheckFiledOnNotFuture();
        run.CheckApplicantStatus();
        run.CheckResidentRegister();
        run.DeriveCardKind();
        run.CheckProcedureEligible();
        run.CheckDeemedNotification();
        run.CheckChannel();
        run.DecideDestination();
        run.CheckFiler();
        run.CheckDocuments();
        run.CheckLateFiling();
        return run.Result();
    }

    private sealed class Evaluation(CaseApplication app, ReferenceSnapshot reference, DateOnly today)
    {
        private readonly List<RuleResult> _trace = [];
        private readonly List<Finding> _violations = [];
        private readonly List<Finding> _warnings = [];
        private readonly List<DocumentCheck> _documents = [];
        private readonly ProcedureInfo? _procedure = reference.FindProcedure(app.ProcedureCode);
        private readonly Policies _policies = reference.Policies;
        private readonly int _age = JapanCalendar.AgeOn(app.Applicant.BirthDate, app.FiledOn);
        private CardKind? _cardKind;
        private Office? _destination;
        private bool _proxy;

        public RouteDecision Result() => new(
            _procedure?.Jurisdiction,
            _destination,
            _cardKind,
            _trace,
            _documents,
            _violations,
            _warnings,
            reference.Version);

        public void CheckOperationStart()
        {
            var start = _policies.OperationStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            if (app.FiledOn >= _policies.OperationStart)
            {
                Pass(Rules.OperationStart, $"申請日は施行日({start})以後です。", $"Filed on or after the start of operation ({start}).");
            }
            else
            {
                Fail(Rules.OperationStart, Reasons.NotYetInOperation, "application.filed_on",
                    $"施行日({start})より前の申請はできません。", $"Tokutei applications are accepted from {start}.");
            }
        }

        public void CheckFiledOnNotFuture()
        {
            if (app.FiledOn <= today)
            {
                Pass(Rules.FiledOnNotFuture, "申請日は当日以前です。", "The filing date is not in the future.");
            }
            else
            {
                Fail(Rules.FiledOnNotFuture, Reasons.FiledOnInFuture, "application.filed_on",
                    "申請日が日本時間の本日より後です。", "The filing date is after today in Japan (Asia/Tokyo).");
            }
        }

        public void CheckApplicantStatus()
        {
            if (app.Applicant.Category == ApplicantCategory.Other)
            {
                Fail(Rules.ApplicantStatus, Reasons.ApplicantNotEligible, "application.applicant.category",
                    "中長期在留者又は特別永住者のみ申請できます。", "Only mid to long-term residents and special permanent residents can apply.");
            }
            else
            {
                Pass(Rules.ApplicantStatus, "申請人は対象者です。", "The applicant is eligible by residence status.");
            }
        }

        public void CheckResidentRegister()
        {
            switch (app.Applicant.ResidentRecord)
            {
                case ResidentRecord.Registered:
                    Pass(Rules.ResidentRegister, "住民基本台帳に記録されています。", "Recorded in the basic resident register.");
                    break;
                case ResidentRecord.RegisteredByThisFiling when RegistersByThisFiling():
                    Pass(Rules.ResidentRegister, "この届出により住民基本台帳に記録されます。", "Becomes recorded in the basic resident register by this filing.");
                    break;
                case ResidentRecord.RegisteredByThisFiling:
                    Fail(Rules.ResidentRegister, Reasons.NotInResidentRegister, "application.applicant.resident_record",
                        "この申請では住民基本台帳に記録されません(転入届等の住民異動届を市区町村で併せて行う場合に限ります)。",
                        "This filing does not record the applicant in the register: that needs a moving-in notification filed at a municipality with it.");
                    break;
                default:
                    Fail(Rules.ResidentRegister, Reasons.NotInResidentRegister, "application.applicant.resident_record",
                        "住民基本台帳に記録されている者のみ申請できます。", "Only residents recorded in the basic resident register can apply.");
                    break;
            }
        }

        private bool RegistersByThisFiling() =>
            _procedure is { Jurisdiction: Jurisdiction.Municipality }
            && app.ResidentNotificationCode is { } code
            && reference.FindNotification(code) is { RegistersResident: true };

        public void DeriveCardKind()
        {
            _cardKind = app.Applicant.Category switch
            {
                ApplicantCategory.MidToLongTermResident => CardKind.SpecifiedResidenceCard,
                ApplicantCategory.SpecialPermanentResident => CardKind.SpecifiedSprCertificate,
                _ => null,
            };
            switch (_cardKind)
            {
                case CardKind.SpecifiedResidenceCard:
                    Pass(Rules.CardKind, "中長期在留者: 特定在留カードを交付します。", "Mid to long-term resident: a specified residence card.");
                    break;
                case CardKind.SpecifiedSprCertificate:
                    Pass(Rules.CardKind, "特別永住者: 特定特別永住者証明書を交付します。", "Special permanent resident: a specified special permanent resident certificate.");
                    break;
                default:
                    NotApplicable(Rules.CardKind, "対象者でないためカードの種類は決まりません。", "No card kind: the applicant is not eligible.");
                    break;
            }
        }

        public void CheckProcedureEligible()
        {
            const string field = "application.procedure";
            if (_procedure is not { Eligible: true })
            {
                var name = _procedure is null ? (Ja: "この手続", En: "This procedure") : (Ja: _procedure.NameJa, En: _procedure.NameEn);
                Fail(Rules.ProcedureEligible, Reasons.ProcedureNotAccompanying, field,
                    $"{name.Ja}には特定在留カード等交付申請を併せて行えません。",
                    $"{name.En} cannot carry a tokutei application.");
                return;
            }

            if (_cardKind is { } card && card != _procedure.Card)
            {
                Fail(Rules.ProcedureEligible, Reasons.ProcedureCardMismatch, field,
                    card == CardKind.SpecifiedSprCertificate
                        ? "特別永住者は在留カードの手続に併せて申請できません。"
                        : "中長期在留者は特別永住者証明書の手続に併せて申請できません。",
                    card == CardKind.SpecifiedSprCertificate
                        ? "A special permanent resident cannot apply with a residence card procedure."
                        : "A mid to long-term resident cannot apply with a special permanent resident certificate procedure.");
                return;
            }

            Pass(Rules.ProcedureEligible, $"{_procedure.NameJa}に併せて申請できます({_procedure.LegalBasis})。",
                $"{_procedure.NameEn} can carry a tokutei application ({_procedure.LegalBasis}).");
        }

        public void CheckDeemedNotification()
        {
            if (_procedure is not { DeemedWith.Count: > 0 })
            {
                NotApplicable(Rules.DeemedNotification, "住居地届出ではありません。", "Not a municipal residence notification.");
                return;
            }

            var listed = string.Join(", ", _procedure.DeemedWith.Select(c => reference.FindNotification(c)?.LegalBasis ?? c));
            var notificationOk = app.ResidentNotificationCode is { } code && _procedure.DeemedWith.Contains(code);
            if (notificationOk && app.CardSubmitted)
            {
                Pass(Rules.DeemedNotification, "住居地届出とみなされます。", "Counts as a residence notification (みなし届出).");
                return;
            }

            if (!notificationOk)
            {
                Violation(Rules.DeemedNotification, Reasons.NotDeemedResidenceNotification, "application.resident_notification",
                    $"住居地届出とみなされるには次のいずれかの届出を併せて行う必要があります: {listed}。",
                    $"To count as a residence notification it must be filed with one of: {listed}.");
            }

            if (!app.CardSubmitted)
            {
                Violation(Rules.DeemedNotification, Reasons.NotDeemedResidenceNotification, "application.card_submitted",
                    "住居地届出とみなされるには在留カード等を提出する必要があります。",
                    "To count as a residence notification the card or certificate must be handed in.");
            }

            Trace(Rules.DeemedNotification, RuleOutcome.Failed, "みなし住居地届出の要件を満たしていません。", "Not a deemed residence notification.");
        }

        public void CheckChannel()
        {
            if (app.Channel == FilingChannel.OnlineResidenceApplicationSystem && !_policies.OnlineChannelSupported)
            {
                Fail(Rules.Channel, Reasons.ChannelNotSupported, "application.channel",
                    "在留申請オンラインシステムでは現在特定在留カード等交付申請を行えません。窓口で申請してください。",
                    "The online residence application system cannot carry a tokutei application for now; file at a counter.");
            }
            else
            {
                Pass(Rules.Channel, "申請方法に問題はありません。", "The filing channel can carry the application.");
            }
        }

        public void DecideDestination()
        {
            const string field = "application.residence_local_government_code";
            var bureau = _procedure?.Jurisdiction == Jurisdiction.RegionalBureau;
            var municipal = _procedure?.Jurisdiction == Jurisdiction.Municipality;
            var rule = municipal ? Rules.DestinationMunicipality : Rules.DestinationBureau;
            NotApplicableUnless(Rules.DestinationBureau, bureau);
            if (_procedure is null)
            {
                NotApplicable(Rules.DestinationMunicipality, "手続が不明なため宛先を決められません。", "No destination: the procedure is unknown.");
                return;
            }

            var local = reference.FindOffice(app.Residence.Value);
            if (local is null || local.IsImmigrationOffice)
            {
                Fail(rule, Reasons.UnknownLocalGovernment, field,
                    "住居地の地方公共団体コードに該当する団体がありません。", "The residence code names no current local government.");
                NotApplicableUnless(Rules.DestinationMunicipality, municipal);
                return;
            }

            if (bureau)
            {
                _destination = reference.ResidenceOfficeFor(local.PrefectureCode);
                if (_destination is null)
                {
                    throw new InvalidOperationException("validated reference data covers every prefecture");
                }

                Pass(rule, $"住居地を管轄する{_destination.NameJa}が宛先です。", $"The {_destination.NameEn}, whose residence jurisdiction covers the place of residence.");
                NotApplicable(Rules.DestinationMunicipality, "入管局の手続です。", "A bureau procedure.");
                return;
            }

            if (local.Kind == OfficeKind.DesignatedCity)
            {
                var wards = reference.ChildrenOf(local.Code);
                var list = string.Join(", ", wards.Select(w => $"{w.Code} {w.NameJa}"));
                Fail(rule, Reasons.WardRequired, field,
                    $"{local.NameJa}は政令指定都市です。次のいずれかの区のコードを指定してください: {list}",
                    $"{local.Code} is a designated city; give the code of one of its wards: {list}");
                return;
            }

            _destination = local;
            Pass(rule, $"住居地の{local.NameJa}が宛先です。", $"The municipality of the place of residence ({local.Code}).");
        }

        public void CheckFiler()
        {
            _proxy = app.Filer.Kind != FilerKind.Self;
            if (!_proxy)
            {
                Pass(Rules.Filer, "本人による申請です。", "Filed by the applicant in person.");
                return;
            }

            var underAge = _age < _policies.ProxyUnderAge;
            var unable = _policies.ProxyWhenUnable && app.Filer.ApplicantUnableToAppear;
            var proofPresent = app.Documents.Any(d => d.Kind == DocumentKind.RelationshipProof);
            if ((underAge || unable) && !proofPresent)
            {
                // The violation itself (DOCUMENT_MISSING) is listed with the document checklist.
                Trace(Rules.Filer, RuleOutcome.Failed, "代理申請には申請人との関係を証する書類が必要です。", "A proxy filing needs proof of the relationship to the applicant.");
            }
            else if (underAge || unable)
            {
                Pass(Rules.Filer,
                    underAge ? $"申請人が{_policies.ProxyUnderAge}歳未満のため代理申請できます。" : "申請人が出頭できないため代理申請できます。",
                    underAge ? $"A proxy may file: the applicant is under {_policies.ProxyUnderAge}." : "A proxy may file: the applicant cannot appear.");
            }
            else
            {
                Fail(Rules.Filer, Reasons.FilerNotAllowed, "application.filer.kind",
                    $"代理申請は申請人が{_policies.ProxyUnderAge}歳未満又は疾病等で出頭できない場合に限られます。",
                    $"A relative or legal representative may file only for an applicant under {_policies.ProxyUnderAge} or unable to appear through illness etc.");
            }
        }

        public void CheckDocuments()
        {
            var present = app.Documents.Select(d => d.Kind).ToHashSet();
            var defective = new HashSet<DocumentKind>();
            var missing = new List<DocumentKind>();

            void Require(DocumentKind kind, RuleDefinition rule, string whyJa, string whyEn)
            {
                if (!present.Contains(kind))
                {
                    missing.Add(kind);
                    _violations.Add(new Finding(rule.Id, Reasons.DocumentMissing, Documents,
                        $"{DocumentNames.Ja(kind)}がありません({whyJa})。", $"The {DocumentNames.En(kind)} is missing ({whyEn})."));
                }

                _documents.Add(new DocumentCheck(kind, DocumentRequirement.Required, present.Contains(kind) ? DocumentStatus.Present : DocumentStatus.Missing, rule.Id, whyJa, whyEn));
            }

            Require(DocumentKind.TokuteiApplicationForm, Rules.DocsRequired, "常に必要", "always required");
            Require(DocumentKind.PinSettingRequest, Rules.DocsRequired, "常に必要", "always required");
            RuleOutcomeFor(Rules.DocsRequired, missing, DocumentKind.TokuteiApplicationForm, DocumentKind.PinSettingRequest);

            var photoWaived = _procedure?.Photo == PhotoRule.WithAccompanyingAge16Plus && _age >= _policies.PhotoWaiverMinAge;
            if (photoWaived)
            {
                const string ja = "併せて行う手続で写真を提出するため不要";
                const string en = "the accompanying procedure submits a photo for an applicant of 16 or over";
                _documents.Add(new DocumentCheck(DocumentKind.Photo, DocumentRequirement.Waived, DocumentStatus.Waived, Rules.DocsPhoto.Id, ja, en));
                Pass(Rules.DocsPhoto, $"写真は{ja}です。", $"No separate photo: {en}.");
                NotApplicable(Rules.PhotoSpec, "写真は不要です。", "No photo is needed.");
            }
            else
            {
                Require(DocumentKind.Photo, Rules.DocsPhoto, "写真1葉", "one photo");
                RuleOutcomeFor(Rules.DocsPhoto, missing, DocumentKind.Photo);
                CheckPhotoSpec(defective);
            }

            if (_procedure is not null)
            {
                Require(DocumentKind.AccompanyingForm, Rules.DocsAccompanying, _procedure.NameJa, _procedure.NameEn);
                if (_procedure.CardShown)
                {
                    var card = _procedure.Card == CardKind.SpecifiedSprCertificate ? DocumentKind.SprCertificate : DocumentKind.ResidenceCard;
                    Require(card, Rules.DocsAccompanying, "現に有するカードの提示", "the current card is shown");
                    if (app.Applicant.CardNumber is null)
                    {
                        Violation(Rules.DocsAccompanying, Reasons.FieldRequired, "application.applicant.card_number",
                            "この手続では現に有するカードの番号が必要です。", "The number of the current card is required for this procedure.");
                    }
                }

                if (_procedure.PassportRequired)
                {
                    Require(DocumentKind.Passport, Rules.DocsAccompanying, "旅券の提示", "the passport is shown");
                }

                RuleOutcomeFor(Rules.DocsAccompanying, missing, DocumentKind.AccompanyingForm, DocumentKind.ResidenceCard, DocumentKind.SprCertificate, DocumentKind.Passport);
            }
            else
            {
                NotApplicable(Rules.DocsAccompanying, "手続が不明です。", "The procedure is unknown.");
            }

            if (_proxy)
            {
                Require(DocumentKind.RelationshipProof, Rules.Filer, "代理申請", "filed by a proxy");
            }

            CheckConsistency(defective);

            foreach (var kind in present.Where(k => _documents.All(d => d.Kind != k)).Order())
            {
                _documents.Add(new DocumentCheck(kind, DocumentRequirement.Optional, DocumentStatus.Present, string.Empty, "任意", "not required"));
            }

            for (var i = 0; i < _documents.Count; i++)
            {
                if (defective.Contains(_documents[i].Kind) && _documents[i].Status == DocumentStatus.Present)
                {
                    _documents[i] = _documents[i] with { Status = DocumentStatus.Defective };
                }
            }
        }

        private void RuleOutcomeFor(RuleDefinition rule, List<DocumentKind> missing, params DocumentKind[] kinds)
        {
            var absent = missing.Where(kinds.Contains).ToList();
            var otherFailures = _violations.Count(v => v.RuleId == rule.Id && v.Reason != Reasons.DocumentMissing);
            if (absent.Count == 0 && otherFailures == 0)
            {
                Pass(rule, "必要書類がそろっています。", "The required documents are present.");
            }
            else if (absent.Count == 0)
            {
                Trace(rule, RuleOutcome.Failed, "書類に必要な記載がありません。", "A required detail of the documents is missing.");
            }
            else
            {
                Trace(rule, RuleOutcome.Failed,
                    "不足: " + string.Join(", ", absent.Select(DocumentNames.Ja)),
                    "Missing: " + string.Join(", ", absent.Select(DocumentNames.En)));
            }
        }

        private void CheckPhotoSpec(HashSet<DocumentKind> defective)
        {
            var failures = 0;
            var oldest = app.FiledOn < DateOnly.MinValue.AddMonths(_policies.PhotoMaxAgeMonths)
                ? DateOnly.MinValue
                : app.FiledOn.AddMonths(-_policies.PhotoMaxAgeMonths);
            for (var i = 0; i < app.Documents.Count; i++)
            {
                if (app.Documents[i] is not { Kind: DocumentKind.Photo, Photo: { } photo })
                {
                    continue;
                }

                if (photo.TakenOn < oldest)
                {
                    failures++;
                    _violations.Add(new Finding(Rules.PhotoSpec.Id, Reasons.PhotoTooOld, $"{Documents}[{i}].photo.taken_on",
                        $"写真は申請前{_policies.PhotoMaxAgeMonths}か月以内に撮影したものが必要です。",
                        $"The photo must be taken within {_policies.PhotoMaxAgeMonths} months before filing."));
                }

                // Each dimension is checked when it was measured (0 means not measured).
                var heightWrong = photo.HeightMm != 0 && photo.HeightMm != _policies.PhotoHeightMm;
                var widthWrong = photo.WidthMm != 0 && photo.WidthMm != _policies.PhotoWidthMm;
                if (heightWrong || widthWrong)
                {
                    failures++;
                    _violations.Add(new Finding(Rules.PhotoSpec.Id, Reasons.PhotoSizeWrong, $"{Documents}[{i}].photo",
                        $"写真の大きさは縦{_policies.PhotoHeightMm}mm×横{_policies.PhotoWidthMm}mmです。",
                        $"The photo must be {_policies.PhotoHeightMm} mm high by {_policies.PhotoWidthMm} mm wide."));
                }
            }

            if (failures > 0)
            {
                defective.Add(DocumentKind.Photo);
                _trace.Add(new RuleResult(Rules.PhotoSpec.Id, RuleOutcome.Failed, Rules.PhotoSpec.LegalBasis, "写真が規格に合いません。", "The photo is out of specification."));
            }
            else
            {
                Pass(Rules.PhotoSpec, "写真は規格に合っています。", "The photo meets the specification.");
            }
        }

        private void CheckConsistency(HashSet<DocumentKind> defective)
        {
            var failures = 0;
            var expectedCard = app.Applicant.CardNumber;
            var name = app.Applicant.Name;

            void Mismatch(int index, string path, string whatJa, string whatEn)
            {
                failures++;
                defective.Add(app.Documents[index].Kind);
                _violations.Add(new Finding(Rules.DocsConsistent.Id, Reasons.DocumentFactsMismatch, $"{Documents}[{index}].facts.{path}",
                    $"{DocumentNames.Ja(app.Documents[index].Kind)}の{whatJa}が申請人又は他の書類と一致しません。",
                    $"The {whatEn} on the {DocumentNames.En(app.Documents[index].Kind)} disagrees with the applicant or another document."));
            }

            for (var i = 0; i < app.Documents.Count; i++)
            {
                if (app.Documents[i].Facts is not { } facts)
                {
                    continue;
                }

                if (facts.HolderName is { } holder)
                {
                    if (!NamePartAgrees(name.FamilyName, holder.FamilyName))
                    {
                        Mismatch(i, "holder_name.family_name", "氏名(姓)", "family name");
                    }

                    if (!NamePartAgrees(name.GivenName, holder.GivenName))
                    {
                        Mismatch(i, "holder_name.given_name", "氏名(名)", "given name");
                    }

                    if (!NamePartAgrees(name.NameKanji, holder.NameKanji))
                    {
                        Mismatch(i, "holder_name.name_kanji", "漢字氏名", "kanji name");
                    }
                }

                if (facts.HolderBirthDate is { } birth && birth != app.Applicant.BirthDate)
                {
                    Mismatch(i, "holder_birth_date", "生年月日", "date of birth");
                }

                if (facts.CardNumber is { } card)
                {
                    if (expectedCard is { } expected && expected.Reveal() != card.Reveal())
                    {
                        Mismatch(i, "card_number", "カード番号", "card number");
                    }

                    // With no number on the application, the documents must at least agree with each other.
                    expectedCard ??= card;
                }
            }

            if (failures == 0)
            {
                Pass(Rules.DocsConsistent, "書類の記載事項は一致しています。", "The facts on the documents agree.");
            }
            else
            {
                _trace.Add(new RuleResult(Rules.DocsConsistent.Id, RuleOutcome.Failed, Rules.DocsConsistent.LegalBasis,
                    $"{failures}件の記載事項が一致しません。", $"{failures} written facts disagree."));
            }
        }

        /// <summary>
        /// Names compare as registered: NFC only (never NFKC, which would merge variant kanji), white space runs
        /// folded, Latin letters without regard to case. A part missing on either side is not compared.
        /// </summary>
        private static bool NamePartAgrees(string expected, string written)
        {
            if (expected.Length == 0 || written.Length == 0)
            {
                return true;
            }

            return string.Equals(NormalizeName(expected), NormalizeName(written), StringComparison.OrdinalIgnoreCase);
        }

        private static string NormalizeName(string name) =>
            string.Join(' ', name.Normalize(NormalizationForm.FormC).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

        public void CheckLateFiling()
        {
            if (_procedure?.DeadlineDays is not { } days || app.EventDate is not { } eventDate)
            {
                NotApplicable(Rules.LateFiling, "届出期限の対象外、又は事由発生日の指定がありません。", "No deadline applies, or no event date was given.");
                return;
            }

            var due = eventDate.DayNumber + days;
            if (app.FiledOn.DayNumber > due)
            {
                var late = app.FiledOn.DayNumber - due;
                var warning = new Finding(Rules.LateFiling.Id, Reasons.LateFiling, "application.event_date",
                    $"届出期限({days}日以内)を{late}日過ぎています。届出は受理されます。",
                    $"Filed {late} days after the {days}-day deadline; it is still accepted.");
                _warnings.Add(warning);
                _trace.Add(new RuleResult(Rules.LateFiling.Id, RuleOutcome.Warning, Rules.LateFiling.LegalBasis, warning.MessageJa, warning.MessageEn));
            }
            else
            {
                Pass(Rules.LateFiling, $"届出期限({days}日以内)内です。", $"Within the {days}-day deadline.");
            }
        }

        private void Pass(RuleDefinition rule, string ja, string en) =>
            _trace.Add(new RuleResult(rule.Id, RuleOutcome.Passed, rule.LegalBasis, ja, en));

        private void Trace(RuleDefinition rule, RuleOutcome outcome, string ja, string en) =>
            _trace.Add(new RuleResult(rule.Id, outcome, rule.LegalBasis, ja, en));

        private void Violation(RuleDefinition rule, string reason, string field, string ja, string en) =>
            _violations.Add(new Finding(rule.Id, reason, field, ja, en));

        private void NotApplicable(RuleDefinition rule, string ja, string en) =>
            _trace.Add(new RuleResult(rule.Id, RuleOutcome.NotApplicable, rule.LegalBasis, ja, en));

        private void NotApplicableUnless(RuleDefinition rule, bool applies)
        {
            if (!applies)
            {
                NotApplicable(rule, "この手続には適用されません。", "Does not apply to this procedure.");
            }
        }

        private void Fail(RuleDefinition rule, string reason, string field, string ja, string en)
        {
            _violations.Add(new Finding(rule.Id, reason, field.Length == 0 ? Application : field, ja, en));
            _trace.Add(new RuleResult(rule.Id, RuleOutcome.Failed, rule.LegalBasis, ja, en));
        }
    }
}
