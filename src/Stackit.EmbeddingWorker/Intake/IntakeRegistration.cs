using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Intake;

internal static class IntakeRegistration
{
    /// <summary>
    /// The first stage and what it holds messages with: the in-flight slots, the byte budget of claimed bodies and the
    /// claim-check store they are read from. The message parser is the wiring's (it needs Qdrant's collection routing).
    /// </summary>
    public static IServiceCollection AddIntake(this IServiceCollection services)
    {
        services.AddSingleton(sp => new InFlightLimiter(sp.GetRequiredService<QueueOptions>().MaxInFlightMessages));
        services.AddSingleton(sp => new ByteBudget(sp.GetRequiredService<BlobOptions>().MaxInFlightBytes));
        services.AddSingleton(sp => ClaimCheckStore.Create(sp.GetRequiredService<BlobOptions>(), sp.GetRequiredService<QueueOptions>(), sp.GetRequiredService<AzureOptions>(), sp.GetRequiredService<ByteBudget>()));
        services.AddHostedService(sp => new IntakeService(
            sp.GetRequiredService<WorkQueues>(), sp.GetRequiredService<JobMessageParser>(), sp.GetRequiredService<ClaimCheckStore>(),
            sp.GetRequiredService<InFlightLimiter>(), sp.GetRequiredService<LiveActivity>(), sp.GetRequiredService<PipelineChannels>().Jobs.Writer,
            sp.GetRequiredService<LeaseRegistry>(), sp.GetRequiredService<SettlementPolicy>(), sp.GetRequiredService<QueueOptions>(),
            sp.GetRequiredService<PipelineContext>(), sp.GetRequiredService<ILogger<IntakeService>>()));
        return services;
    }
}
