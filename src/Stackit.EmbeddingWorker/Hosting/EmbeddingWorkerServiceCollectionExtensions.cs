using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using Qdrant.Client;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Management;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Tokens;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Hosting;

public static class EmbeddingWorkerServiceCollectionExtensions
{
    /// <summary>Registers the whole pipeline, its options (validated on start) and its clients.</summary>
    public static IServiceCollection AddEmbeddingWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<QueueOptions, QueueOptionsValidator>(configuration, QueueOptions.SectionName);
        services.AddBoundOptions<AzureOptions>(configuration, AzureOptions.SectionName);
        services.AddValidatedOptions<BlobOptions, BlobOptionsValidator>(configuration, BlobOptions.SectionName);
        services.AddValidatedOptions<BackfillOptions, BackfillOptionsValidator>(configuration, BackfillOptions.SectionName);
        services.AddValidatedOptions<EmbeddingsOptions, EmbeddingsOptionsValidator>(configuration, EmbeddingsOptions.SectionName);
        services.AddValidatedOptions<BatchingOptions, BatchingOptionsValidator>(configuration, BatchingOptions.SectionName);
        services.AddValidatedOptions<ChunkingOptions, ChunkingOptionsValidator>(configuration, ChunkingOptions.SectionName);
        services.AddValidatedOptions<QdrantOptions, QdrantOptionsValidator>(configuration, QdrantOptions.SectionName);
        services.AddValidatedOptions<CircuitOptions, CircuitOptionsValidator>(configuration, CircuitOptions.SectionName);
        services.AddValidatedOptions<ManagementOptions, ManagementOptionsValidator>(configuration, ManagementOptions.SectionName);
        services.AddValidatedOptions<FleetOptions, FleetOptionsValidator>(configuration, FleetOptions.SectionName);
        // HostOptions:ShutdownTimeout bounds draining at SIGTERM (see PipelineShutdown).
        services.Configure<HostOptions>(configuration.GetSection("HostOptions"));
        services.AddSingleton<IValidateOptions<ChunkingOptions>, ChunkLimitsValidator>();
        services.AddSingleton<IValidateOptions<BackfillOptions>, BackfillQueueValidator>();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PipelineChannels(Capacities(sp)));
        services.AddSingleton<PipelineShutdown>();
        services.AddSingleton<ProgressWatch>();
        services.AddSingleton<DependencyCircuits>();
        services.AddSingleton<LeaseRegistry>();
        services.AddMetrics();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton(sp => new DocumentSequencer(Channels(sp).Resumed.Writer, Get<TimeProvider>(sp)));
        services.AddSingleton(sp => new JobLifecycle(Channels(sp).Outcomes.Writer, Get<DocumentSequencer>(sp), Channels(sp).Withdrawals.Writer));
        services.AddSingleton<PipelineContext>();
        services.AddSingleton(sp => sp.GetRequiredService<EmbeddingsOptions>().Models);
        services.AddSingleton<MessageSettler>();
        services.AddSingleton<SettlementPolicy>();

        services.AddSingleton(sp => QueueClientFactory.Create(Get<QueueOptions>(sp), Get<AzureOptions>(sp)));
        services.AddSingleton<WorkQueues>();
        services.AddSingleton<LiveActivity>();

        // What joins stages or reads another stage's options is wired here; each stage registers the rest itself.
        services.AddSingleton(sp => new TokenCalibration(Get<EmbeddingsOptions>(sp).TokenEstimateMargin));
        services.AddSingleton<ITokenEstimator>(sp => Get<EmbeddingsOptions>(sp).TokenizerFile is { Length: > 0 } tokenizerFile
            ? TokenizerTokenEstimator.Load(tokenizerFile)
            : new CalibratedTokenEstimator(Get<TokenCalibration>(sp)));
        services.AddSingleton(sp => JobMessageParser.For(Get<QdrantOptions>(sp).Routing, Get<QdrantOptions>(sp).MaxMetadataBytes));
        services.AddSingleton(sp =>
        {
            // The configured models' budgets are made at start, so they join the fleet at once; a migration target's at its first request.
            var embeddings = Get<EmbeddingsOptions>(sp);
            var budgets = new RateBudgets(embeddings, Get<BatchingOptions>(sp).MaxTokensPerRequest, Get<TimeProvider>(sp), Get<FleetOptions>(sp).TargetUtilization);
            budgets.For(embeddings.Model);
            if (embeddings.Models.Multimodal is { } multimodal)
            {
                budgets.For(multimodal);
            }
            return budgets;
        });
        // The budget of the configured text model.
        services.AddSingleton(sp => Get<RateBudgets>(sp).For(Get<EmbeddingsOptions>(sp).Model));
        services.AddSingleton(sp => new PageAuthority(Get<QdrantClient>(sp), Get<QdrantOptions>(sp).Routing, Get<BackfillOptions>(sp), Get<QdrantOptions>(sp).StoreImages));

        // The shutdown order, written once. Hosted services start in this order and stop in reverse: Intake (and the
        // backfill source) stop first, each later stage drains what the one before it left, Acknowledgement settles
        // the last outcomes, the fleet budget is given back, and the lease keeper, stopped last, renews leases
        // throughout and finally hands back whatever is unfinished.
        services.AddHostedService<ClearTextKeyWarnings>();
        services.AddHostedService<LeaseKeeper>();
        AddFleetBudget(services, configuration);
        services.AddHostedService<PipelineGauges>();
        services
            .AddAcknowledgement()
            .AddVectorStore()
            .AddEmbeddings()
            .AddBatching()
            .AddPreparation()
            .AddIntake()
            .AddBackfill();
        return services;
    }

    /// <summary>Each channel's capacity, from the options of the stages on either side of it.</summary>
    private static ChannelCapacities Capacities(IServiceProvider services)
    {
        var queue = Get<QueueOptions>(services);
        var batching = Get<BatchingOptions>(services);
        var qdrant = Get<QdrantOptions>(services);
        var backfill = Get<BackfillOptions>(services);
        return new ChannelCapacities(
            // Live messages, and the copy jobs of the backfill pages in work (one job per document; see PageSlots).
            InFlightMessages: queue.MaxInFlightMessages + (backfill.Enabled ? backfill.ConcurrentPages * PageSlots.Parts * backfill.PageSize : 0),
            Jobs: ChannelCapacities.DefaultJobs,
            Chunks: Math.Max(256, batching.MaxInputsPerRequest * 2),
            Batches: Get<EmbeddingsOptions>(services).MaxConcurrency,
            Embedded: qdrant.UpsertBatchSize * qdrant.MaxConcurrentUpserts);
    }

    /// <summary>
    /// With a rate budget and <c>Fleet:Coordination=Storage</c>, the replicas share each model's budget through a ledger
    /// in the claim-check container.
    /// </summary>
    private static void AddFleetBudget(IServiceCollection services, IConfiguration configuration)
    {
        if (!SharesBudget(configuration))
        {
            return;
        }
        services.AddSingleton(sp => new FleetBudgets(
            Get<RateBudgets>(sp),
            model => new BlobFleetLedger(new Lazy<BlobContainerClient>(() => Get<ClaimCheckStore>(sp).Container), model),
            Get<FleetOptions>(sp), Get<TimeProvider>(sp), Get<ILoggerFactory>(sp)));
        services.AddHostedService(sp => sp.GetRequiredService<FleetBudgets>());
    }

    /// <summary>
    /// Whether the fleet shares the budgets: decided from the raw settings, not by binding here, so that a value that
    /// does not bind is reported with every other configuration error when the host is built (StartupConfiguration).
    /// </summary>
    private static bool SharesBudget(IConfiguration configuration)
    {
        var coordination = configuration[$"{FleetOptions.SectionName}:{nameof(FleetOptions.Coordination)}"];
        var shared = string.IsNullOrEmpty(coordination) ? new FleetOptions().Coordination == FleetCoordination.Storage
            : Enum.TryParse<FleetCoordination>(coordination, ignoreCase: true, out var parsed) && parsed == FleetCoordination.Storage;
        var embeddings = configuration.GetSection(EmbeddingsOptions.SectionName);
        var budgeted = !string.IsNullOrEmpty(embeddings[nameof(EmbeddingsOptions.TokensPerMinute)])
                       || !string.IsNullOrEmpty(embeddings[nameof(EmbeddingsOptions.RequestsPerMinute)])
                       || embeddings.GetSection(nameof(EmbeddingsOptions.ModelBudgets)).GetChildren()
                           .Any(b => !string.IsNullOrEmpty(b[nameof(ModelBudget.TokensPerMinute)]) || !string.IsNullOrEmpty(b[nameof(ModelBudget.RequestsPerMinute)]));
        return shared && budgeted;
    }

    private static PipelineChannels Channels(IServiceProvider services) => services.GetRequiredService<PipelineChannels>();

    private static T Get<T>(IServiceProvider services)
        where T : notnull => services.GetRequiredService<T>();
}
