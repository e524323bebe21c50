using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Acknowledgement;

internal static class AcknowledgementRegistration
{
    /// <summary>The last stage: settles every outcome through the settlement policy.</summary>
    public static IServiceCollection AddAcknowledgement(this IServiceCollection services) =>
        services.AddHostedService(sp => new AcknowledgementService(
            sp.GetRequiredService<PipelineChannels>().Outcomes.Reader, sp.GetRequiredService<SettlementPolicy>(),
            sp.GetRequiredService<PipelineContext>(), sp.GetRequiredService<ILogger<AcknowledgementService>>()));
}
