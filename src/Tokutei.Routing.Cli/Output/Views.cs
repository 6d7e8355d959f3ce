using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Output;

/// <summary>Readable views of the API's answers, in Japanese or English. Nothing here prints personal data: the
/// answers carry none (a routed case is a decision, not the application).</summary>
internal sealed class Views(TextWriter output, Lang lang)
{
    public void RoutedCase(RoutedCase routedCase, string heading)
    {
        ArgumentNullException.ThrowIfNull(routedCase);
        output.WriteLine(heading);
        var table = new Table(lang.T("field", "項目"), lang.T("value", "内容"))
            .Add(lang.T("case id", "案件ID"), routedCase.CaseId)
            .Add(lang.T("request id", "リクエストID"), routedCase.RequestId)
            .Add(lang.T("state", "状態"), StateText(routedCase.State));
        AddDecision(table, routedCase.Decision);
        if (!string.IsNullOrEmpty(routedCase.DeliveryReceiptId))
        {
            table.Add(lang.T("delivery receipt", "受領番号"), routedCase.DeliveryReceiptId);
        }

        table.Add(lang.T("submitted by", "送信機関"), routedCase.SubmitterOfficeCode)
            .Add(lang.T("created", "受付日時"), Time(routedCase.CreateTime))
            .Add(lang.T("updated", "更新日時"), Time(routedCase.UpdateTime));
        table.WriteTo(output, "  ");
        Warnings(routedCase.Warnings);
    }

    public void History(RoutedCase routedCase)
    {
        ArgumentNullException.ThrowIfNull(routedCase);
        if (routedCase.History.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine(lang.T("History", "履歴"));
        var table = new Table(lang.T("time", "日時"), lang.T("state", "状態"), lang.T("attempt", "試行"), lang.T("outcome", "結果"));
        foreach (var e in routedCase.History)
        {
            table.Add(Time(e.Time), StateText(e.State), e.Attempt == 0 ? string.Empty : e.Attempt.ToString(CultureInfo.InvariantCulture), e.OutcomeCode);
        }

        table.WriteTo(output, "  ");
    }

    public void Explain(ExplainRouteResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        output.WriteLine(response.Violations.Count == 0
            ? lang.T("The case would be accepted.", "この案件は受理されます。")
            : lang.T($"The case would be refused ({response.Violations.Count} violations).", $"この案件は受理されません(違反 {response.Violations.Count} 件)。"));
        var table = new Table(lang.T("field", "項目"), lang.T("value", "内容"));
        AddDecision(table, response.Decision);
        table.WriteTo(output, "  ");

        output.WriteLine();
        output.WriteLine(lang.T("Rules", "判定の経過"));
        var trace = new Table(lang.T("rule", "ルール"), lang.T("outcome", "結果"), lang.T("legal basis", "根拠"), lang.T("finding", "内容"));
        foreach (var r in response.Decision?.Trace ?? [])
        {
            trace.Add(r.RuleId, ProtoEnums.Short(r.Outcome), r.LegalBasis, lang.T(r.MessageEn, r.MessageJa));
        }

        trace.WriteTo(output, "  ");
        if (response.Decision?.Documents is { } checklist)
        {
            output.WriteLine();
            output.WriteLine(checklist.Complete ? lang.T("Documents (complete)", "書類(そろっています)") : lang.T("Documents (incomplete)", "書類(不足・不備あり)"));
            var documents = new Table(lang.T("document", "書類"), lang.T("requirement", "要否"), lang.T("status", "状態"), lang.T("why", "理由"));
            foreach (var d in checklist.Items)
            {
                documents.Add(ProtoEnums.Short(d.Kind), ProtoEnums.Short(d.Requirement), ProtoEnums.Short(d.Status), lang.T(d.ReasonEn, d.ReasonJa));
            }

            documents.WriteTo(output, "  ");
        }

        if (response.Violations.Count > 0)
        {
            output.WriteLine();
            output.WriteLine(lang.T("Violations", "違反"));
            var violations = new Table(lang.T("reason", "理由コード"), lang.T("rule", "ルール"), lang.T("field", "項目"), lang.T("message", "内容"));
            foreach (var v in response.Violations)
            {
                violations.Add(v.Reason, v.RuleId, v.Field, lang.T(v.MessageEn, v.MessageJa));
            }

            violations.WriteTo(output, "  ");
        }

        Warnings(response.Warnings);
    }

    public void Cases(ListCasesResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var table = new Table(lang.T("case id", "案件ID"), lang.T("destination", "宛先"), lang.T("state", "状態"), lang.T("created", "受付日時"));
        foreach (var c in response.RoutedCases)
        {
            table.Add(c.CaseId, Destination(c.Decision?.Destination), StateText(c.State), Time(c.CreateTime));
        }

        table.WriteTo(output);
        output.WriteLine(lang.T($"{response.RoutedCases.Count} cases", $"{response.RoutedCases.Count} 件"));
        if (!string.IsNullOrEmpty(response.NextPageToken))
        {
            output.WriteLine(lang.T($"next page: --page-token {response.NextPageToken}", $"次のページ: --page-token {response.NextPageToken}"));
        }
    }

    public void Procedures(ListProceduresResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var table = new Table(lang.T("code", "コード"), lang.T("card", "カード"), lang.T("filed at", "申請先"), lang.T("eligible", "併願可"),
            lang.T("deadline", "期限"), lang.T("legal basis", "根拠"), lang.T("name", "名称"));
        foreach (var p in response.Procedures)
        {
            table.Add(
                p.Code,
                CardText(p.CardKind),
                JurisdictionText(p.Jurisdiction),
                p.Eligible ? lang.T("yes", "可") : lang.T("no", "不可"),
                p.DeadlineDays == 0 ? "-" : lang.T($"{p.DeadlineDays} days", $"{p.DeadlineDays}日"),
                p.LegalBasis,
                lang.T(p.NameEn, p.NameJa));
        }

        table.WriteTo(output);
        output.WriteLine(lang.T($"{response.Procedures.Count} procedures, reference data {response.ReferenceDataVersion}", $"{response.Procedures.Count} 件、参照データ {response.ReferenceDataVersion}"));
    }

    public void Offices(IReadOnlyList<Office> offices, int total, string referenceDataVersion, string? nextPageToken)
    {
        ArgumentNullException.ThrowIfNull(offices);
        OfficeTable(offices).WriteTo(output);
        output.WriteLine(lang.T($"{offices.Count} of {total} offices, reference data {referenceDataVersion}", $"{total} 件中 {offices.Count} 件、参照データ {referenceDataVersion}"));
        if (!string.IsNullOrEmpty(nextPageToken))
        {
            output.WriteLine(lang.T($"next page: --page-token {nextPageToken}", $"次のページ: --page-token {nextPageToken}"));
        }
    }

    public void Office(GetOfficeResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var o = response.Office;
        new Table(lang.T("field", "項目"), lang.T("value", "内容"))
            .Add(lang.T("code", "コード"), o.Code)
            .Add(lang.T("kind", "種別"), ProtoEnums.Short(o.Kind))
            .Add(lang.T("name", "名称"), lang.T(string.IsNullOrEmpty(o.NameEn) ? o.NameJa : o.NameEn, o.NameJa))
            .Add(lang.T("reading", "よみ"), o.NameKana)
            .Add(lang.T("parent", "上位"), o.ParentCode)
            .Add(lang.T("prefecture", "都道府県"), o.PrefectureCode)
            .Add(lang.T("serves prefectures", "管轄都道府県"), string.Join(",", o.ResidencePrefectureCodes))
            .Add(lang.T("destination", "宛先になるか"), o.Routable ? lang.T("yes", "はい") : lang.T("no", "いいえ"))
            .WriteTo(output);
        if (response.Children.Count > 0)
        {
            output.WriteLine();
            output.WriteLine(o.Kind == OfficeKind.DesignatedCity ? lang.T("Wards (the destinations)", "区(宛先)") : lang.T("Offices under it", "下部機関"));
            OfficeTable(response.Children).WriteTo(output, "  ");
        }
    }

    private Table OfficeTable(IEnumerable<Office> offices)
    {
        var table = new Table(lang.T("code", "コード"), lang.T("kind", "種別"), lang.T("name", "名称"), lang.T("parent", "上位"), lang.T("destination", "宛先"));
        foreach (var o in offices)
        {
            table.Add(o.Code, ProtoEnums.Short(o.Kind), lang.T(string.IsNullOrEmpty(o.NameEn) ? o.NameJa : o.NameEn, o.NameJa), o.ParentCode, o.Routable ? lang.T("yes", "○") : lang.T("no", "×"));
        }

        return table;
    }

    private void AddDecision(Table table, Decision? decision)
    {
        if (decision is null)
        {
            return;
        }

        table.Add(lang.T("jurisdiction", "管轄"), JurisdictionText(decision.Jurisdiction))
            .Add(lang.T("destination", "宛先"), Destination(decision.Destination))
            .Add(lang.T("card", "交付するカード"), CardText(decision.CardKind));
        if (decision.Documents is { } documents)
        {
            table.Add(lang.T("documents", "書類"), documents.Complete ? lang.T("complete", "そろっています") : lang.T("incomplete", "不足・不備あり"));
        }

        table.Add(lang.T("reference data", "参照データ"), decision.ReferenceDataVersion);
    }

    private void Warnings(IEnumerable<Warning> warnings)
    {
        var list = warnings.ToList();
        if (list.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine(lang.T("Warnings", "警告"));
        var table = new Table(lang.T("reason", "理由コード"), lang.T("field", "項目"), lang.T("message", "内容"));
        foreach (var w in list)
        {
            table.Add(w.Reason, w.Field, lang.T(w.MessageEn, w.MessageJa));
        }

        table.WriteTo(output, "  ");
    }

    private string Destination(Office? office) =>
        office is null || string.IsNullOrEmpty(office.Code)
            ? lang.T("(none)", "(なし)")
            : $"{office.Code} {lang.T(string.IsNullOrEmpty(office.NameEn) ? office.NameJa : office.NameEn, office.NameJa)}";

    private string JurisdictionText(Jurisdiction jurisdiction) => jurisdiction switch
    {
        Jurisdiction.RegionalBureau => lang.T("regional immigration bureau", "地方出入国在留管理局"),
        Jurisdiction.Municipality => lang.T("municipality", "市区町村"),
        _ => lang.T("(none)", "(なし)"),
    };

    private string CardText(CardKind card) => card switch
    {
        CardKind.SpecifiedResidenceCard => lang.T("specified residence card", "特定在留カード"),
        CardKind.SpecifiedSprCertificate => lang.T("specified special permanent resident certificate", "特定特別永住者証明書"),
        _ => lang.T("(none)", "(なし)"),
    };

    private string StateText(CaseState state) => state switch
    {
        CaseState.Accepted => lang.T("ACCEPTED", "受付済(ACCEPTED)"),
        CaseState.Delivering => lang.T("DELIVERING", "送付中(DELIVERING)"),
        CaseState.Delivered => lang.T("DELIVERED", "送付済(DELIVERED)"),
        CaseState.DeadLettered => lang.T("DEAD_LETTERED", "送付不能(DEAD_LETTERED)"),
        _ => ProtoEnums.Short(state),
    };

    private static string Time(Timestamp? time) =>
        time is null ? string.Empty : time.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
