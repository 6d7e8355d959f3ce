using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Delivery;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Security;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>Where cases live: Redis when <c>ConnectionStrings:Redis</c> is set (durable mode), memory otherwise.</summary>
internal static class StorageExtensions
{
    public static bool IsDurableMode(this IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[RedisOptions.ConnectionStringKey]);

    public static void AddCaseStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LoopbackIntake>();
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DeliveryOptions>, DeliveryOptionsValidator>();
        builder.Services.AddSingleton<IValidateOptions<DeliveryOptions>, DeliveryEndpointsValidator>();
        builder.Services.AddSingleton<IntakeClients>();
        builder.Services.AddSingleton<DeliveryPipelines>();
        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddSingleton<DeliveryHealth>();
        builder.Services.AddSingleton<DeliveryEngine>();

        // The store's start-up checks (the Redis key layout) run before delivery starts: hosted services start in order.
        if (builder.Configuration.IsDurableMode())
        {
            builder.AddDurableStorage();
        }
        else
        {
            builder.Services.AddSingleton<ICaseStore, InMemoryCaseStore>();
        }

        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeliveryEngine>());
    }

    private static void AddDurableStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        builder.Services.AddOptions<EncryptionOptions>().BindConfiguration(EncryptionOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EncryptionOptions>, EncryptionOptionsValidator>();

        builder.Services.AddSingleton<IConnectionMultiplexer>(sp => Connect(sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        builder.Services.AddSingleton(sp => new RedisLayout(sp.GetRequiredService<IOptions<RedisOptions>>().Value.Shards));
        builder.Services.AddSingleton<RedisLayoutCheck>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisLayoutCheck>());
        builder.Services.AddSingleton<ReplicaAcknowledgement>();
        builder.Services.AddSingleton<RedisResilience>();
        builder.Services.AddSingleton<PersonalDataProtector>();
        builder.Services.AddSingleton<RedisDurability>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisDurability>());
        builder.Services.AddSingleton<ReferencePublisher>();
        builder.Services.AddSingleton<ReferenceSync>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReferenceSync>());
        builder.Services.AddSingleton<RedisCaseStore>();
        builder.Services.AddSingleton<ICaseStore>(sp => sp.GetRequiredService<RedisCaseStore>());
        builder.Services.AddHealthChecks()
            .AddCheck<RedisDurabilityHealthCheck>("redis", tags: [HealthTags.Ready])
            .AddCheck<DeliveryHealthCheck>("delivery", tags: [HealthTags.Ready]);
    }

    /// <summary>
    /// One multiplexer for the process (StackExchange.Redis's own advice). It starts even when Redis is down
    /// (<c>AbortOnConnectFail=false</c>) and reconnects by itself. Admin mode is on only for CONFIG GET, which the
    /// durability check needs.
    /// </summary>
    public static ConnectionMultiplexer Connect(IConfiguration configuration, RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var settings = ConfigurationOptions.Parse(configuration[RedisOptions.ConnectionStringKey]!);
        settings.AbortOnConnectFail = false;
        settings.AllowAdmin = true;
        settings.ClientName ??= "tokutei-routing";
        if (options.Password.Length > 0)
        {
            settings.Password = options.Password;
        }

        return ConnectionMultiplexer.Connect(settings);
    }
}
