using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>What every command needs: the worker's own settings (same files and environment), its queues, and where to write.</summary>
internal sealed class CliContext(IConfiguration configuration, TextReader input, TextWriter output, TextWriter error)
{
    private WorkQueues? _queues;
    private ClaimCheckStore? _claimChecks;

    public TextReader Input { get; } = input;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public QueueOptions Queue { get; } = configuration.GetSection(QueueOptions.SectionName).Get<QueueOptions>() ?? new QueueOptions();

    public QdrantOptions Qdrant { get; } = configuration.GetSection(QdrantOptions.SectionName).Get<QdrantOptions>() ?? new QdrantOptions();

    public Backfill.BackfillOptions Backfill { get; } = configuration.GetSection(EmbeddingWorker.Backfill.BackfillOptions.SectionName).Get<Backfill.BackfillOptions>() ?? new Backfill.BackfillOptions();

    public EmbeddingsOptions Embeddings { get; } = configuration.GetSection(EmbeddingsOptions.SectionName).Get<EmbeddingsOptions>() ?? new EmbeddingsOptions();

    public Batching.BatchingOptions Batching { get; } = configuration.GetSection(EmbeddingWorker.Batching.BatchingOptions.SectionName).Get<Batching.BatchingOptions>() ?? new Batching.BatchingOptions();

    public BlobOptions Blobs { get; } = configuration.GetSection(BlobOptions.SectionName).Get<BlobOptions>() ?? new BlobOptions();

    public AzureOptions Azure { get; } = configuration.GetSection(AzureOptions.SectionName).Get<AzureOptions>() ?? new AzureOptions();

    public ClaimCheckStore ClaimChecks => _claimChecks ??= ClaimCheckStore.Create(Blobs, Queue, Azure);

    public WorkQueues Queues => _queues ??= new WorkQueues(QueueClientFactory.Create(Queue, Azure), Queue);

    public JobMessageParser Parser() => JobMessageParser.For(Qdrant.Routing, Qdrant.MaxMetadataBytes);
}
