using Tokutei.Routing.Server.Redis;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>The sharded key layout: one slot per script, shards found from ids alone, tags spread over the slot space.</summary>
public sealed class RedisLayoutTests
{
    public static TheoryData<int> ShardCounts => [1, 2, 3, 7, 16, 64, 256];

    [Theory]
    [InlineData("123456789", 12739)] // CRC16/XMODEM check value 0x31C3
    [InlineData("foo", 12182)] // the examples of the Redis Cluster specification
    [InlineData("bar", 5061)]
    [InlineData("{user1000}.following", 3443)]
    [InlineData("foo{}{bar}", 8363)] // an empty tag: the whole key is hashed
    public void HashSlot_IsRedisClusters(string key, int slot) => Assert.Equal(slot, RedisLayout.HashSlot(key));

    [Theory]
    [MemberData(nameof(ShardCounts))]
    public void Tags_FallEachInTheirShareOfTheSlots_SoShardsSpreadEvenlyOverThePrimaries(int shards)
    {
        var layout = new RedisLayout(shards);
        var slots = layout.AllShards.Select(s => RedisLayout.HashSlot(layout.Tag(s))).ToList();
        Assert.Equal(shards, slots.Distinct().Count());
        Assert.All(layout.AllShards, s => Assert.InRange(slots[s], s * 16384 / shards, ((s + 1) * 16384 / shards) - 1));

        // Three primaries with the ranges `redis-cli --cluster create` gives: each holds its share, give or take the
        // shard whose range straddles the border.
        if (shards >= 3)
        {
            var perPrimary = slots.GroupBy(slot => slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2).Select(g => g.Count()).ToList();
            Assert.Equal(3, perPrimary.Count);
            Assert.All(perPrimary, count => Assert.InRange(count, (shards / 3) - 1, ((shards + 2) / 3) + 1));
        }
    }

    [Theory]
    [MemberData(nameof(ShardCounts))]
    public void EveryKeyTheAcceptScriptTouches_IsInOneSlot(int shards)
    {
        var layout = new RedisLayout(shards);
        for (var i = 0; i < 200; i++)
        {
            var (office, requestId) = ("OFFICE" + (i % 7), Guid.NewGuid().ToString("D"));
            var shard = layout.ShardOfRequest(office, requestId);
            var caseId = layout.NewCaseId(TimeProvider.System.GetUtcNow(), shard);
            string[] keys =
            [
                layout.Request(office, requestId), layout.Case(caseId), layout.CaseEvents(caseId), layout.CaseAudit(caseId),
                layout.AllCases(shard), layout.CasesTo(shard, "131016"), layout.Outbox(shard), layout.DeliveryDue(shard),
                layout.Undelivered(shard), layout.DeadLetters(shard),
            ];
            Assert.Single(keys.Select(RedisLayout.HashSlot).Distinct());
            Assert.Equal(shard, layout.ShardOfCase(caseId));
        }
    }

    [Fact]
    public void NewCaseIds_AreUuidV7InCreationOrder_AndSpreadOverEveryShard()
    {
        var layout = new RedisLayout(16);
        var start = TimeProvider.System.GetUtcNow();
        var ids = Enumerable.Range(0, 2000).Select(i => layout.NewCaseId(start.AddMilliseconds(i), layout.ShardOfRequest("TOKYO", Guid.NewGuid().ToString("D")))).ToList();
        Assert.All(ids, id =>
        {
            var guid = Guid.Parse(id);
            Assert.Equal(7, guid.Version);
            Assert.Equal(id, guid.ToString("D"));
        });
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(2000, ids.Distinct().Count());

        // The request hash spreads requests over every shard, none with more than twice its share.
        var perShard = ids.GroupBy(layout.ShardOfCase).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(16, perShard.Count);
        Assert.All(perShard.Values, count => Assert.InRange(count, 2000 / 16 / 2, 2000 / 16 * 2));
    }

    [Fact]
    public void KeysHoldOnlyIdsAndOfficeCodes()
    {
        var layout = new RedisLayout(16);
        var caseId = layout.NewCaseId(TimeProvider.System.GetUtcNow(), 5);
        Assert.Matches(@"^tkr:v2:\{s05(\.\d+)?\}:case:[0-9a-f-]{36}$", layout.Case(caseId));
        Assert.Throws<ArgumentException>(() => layout.Case("not-an-id"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedisLayout(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedisLayout(257));
    }
}
