using Tokutei.Routing.Core.Reference;

namespace Tokutei.Routing.Core.Routing;

/// <summary>The outcome of one rule.</summary>
public enum RuleOutcome
{
    Passed,
    Failed,
    NotApplicable,
    Warning,
}

/// <summary>Whether a document is needed.</summary>
public enum DocumentRequirement
{
    Required,
    Waived,
    Optional,
}

/// <summary>The state of one document in the checklist.</summary>
public enum DocumentStatus
{
    Present,
    Missing,
    Waived,
    Defective,
}

/// <summary>One step of the decision.</summary>
public sealed record RuleResult(string RuleId, RuleOutcome Outcome, string LegalBasis, string MessageJa, string MessageEn);

/// <summary>A violation or a warning: rule, catalogue reason, proto field path and a bilingual message free of personal data.</summary>
public sealed record Finding(string RuleId, string Reason, string Field, string MessageJa, string MessageEn);

/// <summary>One line of the document checklist.</summary>
public sealed record DocumentCheck(
    DocumentKind Kind,
    DocumentRequirement Requirement,
    DocumentStatus Status,
    string RuleId,
    string ReasonJa,
    string ReasonEn);

/// <summary>The decision on an application: where it goes, why, and what stops it.</summary>
public sealed record RouteDecision(
    Jurisdiction? Jurisdiction,
    Office? Destination,
    CardKind? CardKind,
    IReadOnlyList<RuleResult> Trace,
    IReadOnlyList<DocumentCheck> Documents,
    IReadOnlyList<Finding> Violations,
    IReadOnlyList<Finding> Warnings,
    string ReferenceDataVersion)
{
    /// <summary>True when no rule is broken: RouteCase accepts the case.</summary>
    public bool Accepted => Violations.Count == 0;

    /// <summary>True when every required document is present and in order.</summary>
    public bool DocumentsComplete => Documents.All(d => d.Status is DocumentStatus.Present or DocumentStatus.Waived);
}
