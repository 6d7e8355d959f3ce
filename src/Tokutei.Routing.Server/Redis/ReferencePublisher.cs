using StackExchange.Redis;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Reference;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Publishes reference data to Redis: the files of a version under their own key, then the pointer to the current
/// version, then a notice on the channel. Only data that validates (including against the contract) is published.
/// </summary>
internal sealed class ReferencePublisher(IConnectionMultiplexer redis)
{
    /// <summary>Publishes a data set and makes it current; returns its version.</summary>
    public async Task<string> PublishAsync(IReadOnlyDictionary<string, string> files, CancellationToken cancellationToken)
    {
        var snapshot = ReferenceData.CheckAgainstContract(ReferenceDataLoader.Load(files));
        var db = redis.GetDatabase();
        await db.HashSetAsync(RedisKeys.ReferenceData(snapshot.Version), files.Select(f => new HashEntry(f.Key, f.Value)).ToArray()).WaitAsync(cancellationToken).ConfigureAwait(false);
        await db.StringSetAsync(RedisKeys.ReferenceCurrent, snapshot.Version).WaitAsync(cancellationToken).ConfigureAwait(false);
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.ReferenceChannel), snapshot.Version).WaitAsync(cancellationToken).ConfigureAwait(false);
        return snapshot.Version;
    }

    /// <summary>Publishes a data set only when no version is published yet (the first replica seeds Redis).</summary>
    public async Task<bool> SeedAsync(IReadOnlyDictionary<string, string> files, CancellationToken cancellationToken)
    {
        var snapshot = ReferenceData.CheckAgainstContract(ReferenceDataLoader.Load(files));
        var db = redis.GetDatabase();
        await db.HashSetAsync(RedisKeys.ReferenceData(snapshot.Version), files.Select(f => new HashEntry(f.Key, f.Value)).ToArray()).WaitAsync(cancellationToken).ConfigureAwait(false);
        return await db.StringSetAsync(RedisKeys.ReferenceCurrent, snapshot.Version, when: When.NotExists).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The files of the current version, or null when none is published.</summary>
    public static async Task<(string Version, Dictionary<string, string> Files)?> ReadCurrentAsync(IDatabase db, string? knownVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var version = (string?)await db.StringGetAsync(RedisKeys.ReferenceCurrent).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            return null;
        }

        if (version == knownVersion)
        {
            return (version, []);
        }

        var entries = await db.HashGetAllAsync(RedisKeys.ReferenceData(version)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (version, entries.ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal));
    }
}
