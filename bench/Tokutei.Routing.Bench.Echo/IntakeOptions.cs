using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Bench.Echo;

/// <summary>
/// How unreliable the counting intake is (the flaky intake scenario of the delivery phase): `--Intake:FailureRate 0.5
/// --Intake:LostReplyRate 0.3`. Each call draws once: it fails before anything is recorded with
/// <see cref="FailureRate"/>; a call that gets through is recorded and then, with <see cref="LostReplyRate"/>, answered
/// UNAVAILABLE as if its reply had been lost. So the intake records a case at 1 − FailureRate of the calls that carry
/// it, and the router sees 1 − (1 − FailureRate) × (1 − LostReplyRate) of its calls fail. Both 0 by default: a
/// reliable intake, as the other delivery runs use.
/// </summary>
internal sealed class IntakeOptions
{
    public const string SectionName = "Intake";

    /// <summary>Share of calls answered UNAVAILABLE before anything is recorded.</summary>
    [Range(0.0, 1.0)]
    public double FailureRate { get; set; }

    /// <summary>Share of the calls that got through (and were recorded) answered UNAVAILABLE all the same: a lost reply.</summary>
    [Range(0.0, 1.0)]
    public double LostReplyRate { get; set; }
}

[OptionsValidator]
internal sealed partial class IntakeOptionsValidator : IValidateOptions<IntakeOptions>;
