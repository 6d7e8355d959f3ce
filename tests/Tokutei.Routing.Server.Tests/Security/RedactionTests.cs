using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tokutei.Routing.Core;
using Tokutei.Routing.Server.Tests.Durable;

namespace Tokutei.Routing.Server.Tests.Security;

/// <summary>A value marked personal is erased from logs by the server's own logging setup, even when logged by mistake.</summary>
public sealed partial class RedactionTests
{
    [Fact]
    public async Task PersonalDataLoggedByMistake_IsErased()
    {
        var logs = new CapturedLogs();
        await using var app = RoutingApp.Build(["--urls", "http://127.0.0.1:0", "--Security:AllowUnauthenticated", "true"], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
        });
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Mistake");

        LogApplicant(logger, "QZREDACTEDNAME", "case-1");

        var line = Assert.Single(logs.Lines, l => l.Contains("[7777]", StringComparison.Ordinal));
        Assert.DoesNotContain("QZREDACTEDNAME", line, StringComparison.Ordinal);
        Assert.Contains("case-1", line, StringComparison.Ordinal);
    }

    [LoggerMessage(EventId = 7777, Level = LogLevel.Warning, Message = "Applicant {FamilyName} of case {CaseId}")]
    private static partial void LogApplicant(ILogger logger, [PersonalData] string familyName, string caseId);
}
