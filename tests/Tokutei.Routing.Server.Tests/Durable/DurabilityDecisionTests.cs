using Tokutei.Routing.Server.Redis;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>The durability decision as a pure function of what was read on each Redis server: it fails closed.</summary>
public sealed class DurabilityDecisionTests
{
    private static readonly DateTimeOffset Now = new(2025, 4, 1, 9, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, string> DurableSettings() => DurabilityDecision.Required.ToDictionary(r => r.Name, r => r.Expected);

    private static ServerReading Primary(string endpoint = "10.0.0.1:6379", Dictionary<string, string>? settings = null) =>
        ServerReading.Read(endpoint, ServerRole.Primary, settings ?? DurableSettings());

    private static ServerReading Replica(string endpoint = "10.0.0.2:6379", Dictionary<string, string>? settings = null) =>
        ServerReading.Read(endpoint, ServerRole.Replica, settings ?? DurableSettings());

    private static Dictionary<string, string> With(string name, string value)
    {
        var settings = DurableSettings();
        settings[name] = value;
        return settings;
    }

    [Fact]
    public void OnePrimary_AllSettingsRequired_IsDurable()
    {
        var status = DurabilityDecision.Decide([Primary()], Now);
        Assert.Equal(DurabilityVerdict.Durable, status.Verdict);
        Assert.True(status.Reachable);
        Assert.Equal(Now, status.CheckedAt);
    }

    [Theory]
    [InlineData("appendonly", "no")]
    [InlineData("appendfsync", "everysec")]
    [InlineData("no-appendfsync-on-rewrite", "yes")]
    [InlineData("maxmemory-policy", "allkeys-lru")]
    [InlineData("aof_last_write_status", "err")]
    public void OneWeakSetting_IsNotDurable_AndNamesIt(string name, string value)
    {
        var status = DurabilityDecision.Decide([Primary(settings: With(name, value))], Now);
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.True(status.Reachable);
        Assert.Contains($"10.0.0.1:6379 (primary): {name} is {value}, not ", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingSetting_CountsAsUnknown_NotDurable()
    {
        var settings = DurableSettings();
        settings.Remove("no-appendfsync-on-rewrite");
        var status = DurabilityDecision.Decide([Primary(settings: settings)], Now);
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.Contains("no-appendfsync-on-rewrite is unknown, not no", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void PrimaryRefusingToShowItsSettings_IsNotDurable_NotUnreachable()
    {
        var status = DurabilityDecision.Decide([ServerReading.Refused("10.0.0.1:6379", ServerRole.Primary, "NOPERM on CONFIG GET")], Now);
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.True(status.Reachable);
        Assert.Equal("cannot read the durability settings of 10.0.0.1:6379 (primary): NOPERM on CONFIG GET", status.Detail);
    }

    [Fact]
    public void NoServers_OrNoPrimaryReached_IsUnreachable()
    {
        Assert.Equal(DurabilityVerdict.Unreachable, DurabilityDecision.Decide([], Now).Verdict);
        var status = DurabilityDecision.Decide([ServerReading.Missed("10.0.0.1:6379", ServerRole.Primary, "not connected"), Replica()], Now);
        Assert.Equal(DurabilityVerdict.Unreachable, status.Verdict);
        Assert.False(status.Reachable);
        Assert.Contains("10.0.0.1:6379 (primary) not reached: not connected", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void WeakReplica_IsNotDurable_AndNamesTheReplica()
    {
        var status = DurabilityDecision.Decide([Primary(), Replica(settings: With("appendfsync", "everysec"))], Now);
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.Equal("10.0.0.2:6379 (replica): appendfsync is everysec, not always", status.Detail);
    }

    [Fact]
    public void UnreadableReplica_IsNotDurable()
    {
        var status = DurabilityDecision.Decide([Primary(), ServerReading.Refused("10.0.0.2:6379", ServerRole.Replica, "NOPERM on INFO")], Now);
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.Contains("10.0.0.2:6379 (replica): NOPERM on INFO", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ReplicaNotReached_IsNamed_ButDoesNotBlock()
    {
        var status = DurabilityDecision.Decide([Primary(), ServerReading.Missed("10.0.0.2:6379", ServerRole.Replica, "RedisTimeoutException")], Now);
        Assert.Equal(DurabilityVerdict.Durable, status.Verdict);
        Assert.Contains("10.0.0.2:6379 (replica) not reached: RedisTimeoutException", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ClusterOfPrimaries_OneWeak_IsNotDurable_AndNamesIt()
    {
        var status = DurabilityDecision.Decide(
            [Primary("10.0.0.1:7000"), Primary("10.0.0.3:7000", With("maxmemory-policy", "volatile-lru")), Primary("10.0.0.2:7000"), Replica("10.0.0.4:7000")],
            Now);
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.Equal("10.0.0.3:7000 (primary): maxmemory-policy is volatile-lru, not noeviction", status.Detail);
    }

    [Fact]
    public void ClusterOfPrimaries_AllDurable_IsDurable_AndCountsThem()
    {
        var status = DurabilityDecision.Decide([Primary("10.0.0.1:7000"), Primary("10.0.0.2:7000"), Replica("10.0.0.3:7000")], Now);
        Assert.Equal(DurabilityVerdict.Durable, status.Verdict);
        Assert.Contains("on 3 server(s)", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorKind_KeepsTheCodeOnly_NotTheUserName()
    {
        var kind = DurabilityDecision.ErrorKind("NOPERM User QZUSER has no permissions to run the 'config|get' command", "CONFIG GET");
        Assert.Equal("NOPERM on CONFIG GET", kind);
        Assert.Equal("ERR unknown command on CONFIG GET", DurabilityDecision.ErrorKind("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'appendonly'", "CONFIG GET"));
    }

    [Fact]
    public void BeforeTheFirstCheck_NothingIsKnown()
    {
        Assert.Equal(DurabilityVerdict.NotKnown, DurabilityStatus.NotCheckedYet.Verdict);
        Assert.False(DurabilityStatus.NotCheckedYet.Reachable);
        Assert.False(DurabilityStatus.NotCheckedYet.Durable);
    }
}
