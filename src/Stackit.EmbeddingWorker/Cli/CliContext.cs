using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Configuration;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>What every command needs: the worker's own settings (same files and environment), its queues, and where to write.</summary>
internal sealed class CliContext(IConfiguration configuration, TextReader input, TextWriter output, TextWriter error)
{
    private WorkQueues? _queues;
    private ClaimCheckStore? _claimChecks;
    private QueueOptions? _queue;
    private QdrantOptions? _qdrant;
    private Backfill.BackfillOptions? _backfill;
    private EmbeddingsOptions? _embeddings;
    private Batching.BatchingOptions? _batching;
    private BlobOptions? _blobs;
    private AzureOptions? _azure;
    private EmbeddingWorker.Embeddings.Throttling.FleetOptions? _fleet;

    public TextReader Input { get; } = input;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    // Each section is bound and checked as the worker does at start (OptionsBinding.Bind, the same generated
    // validators), when a command first uses it: a command is refused only for the settings it needs.
    public QueueOptions Queue => _queue ??= OptionsBinding.Bind(configuration, QueueOptions.SectionName, new QueueOptionsValidator());

    public QdrantOptions Qdrant => _qdrant ??= OptionsBinding.Bind(configuration, QdrantOptions.SectionName, new QdrantOptionsValidator());

    public Backfill.BackfillOptions Backfill => _backfill ??= OptionsBinding.Bind(configuration, EmbeddingWorker.Backfill.BackfillOptions.SectionName, new Backfill.BackfillOptionsValidator());

    public EmbeddingsOptions Embeddings => _embeddings ??= OptionsBinding.Bind(configuration, EmbeddingsOptions.SectionName, new EmbeddingsOptionsValidator());

    /// <summary>The configured model of a kind of collection, read without checking the embeddings settings (status needs none).</summary>
    public string? ConfiguredModel(bool multimodal) => configuration[multimodal ? "Embeddings:MultimodalModel" : "Embeddings:Model"];

    /// <summary>From now on, the embeddings settings with <paramref name="model"/> as the text model (<c>backfill --model</c>).</summary>
    public void UseModel(string model, int? dimensions) => _embeddings = Embeddings.WithModel(model, dimensions);

    public Batching.BatchingOptions Batching => _batching ??= OptionsBinding.Bind(configuration, EmbeddingWorker.Batching.BatchingOptions.SectionName, new Batching.BatchingOptionsValidator());

    public EmbeddingWorker.Embeddings.Throttling.FleetOptions Fleet => _fleet ??= OptionsBinding.Bind(configuration, EmbeddingWorker.Embeddings.Throttling.FleetOptions.SectionName, new EmbeddingWorker.Embeddings.Throttling.FleetOptionsValidator());

    public BlobOptions Blobs => _blobs ??= OptionsBinding.Bind(configuration, BlobOptions.SectionName, new BlobOptionsValidator());

    public AzureOptions Azure => _azure ??= configuration.GetSection(AzureOptions.SectionName).Get<AzureOptions>() ?? new AzureOptions();

    public ClaimCheckStore ClaimChecks => _claimChecks ??= ClaimCheckStore.Create(Blobs, Queue, Azure);

    public WorkQueues Queues => _queues ??= new WorkQueues(QueueClientFactory.Create(Queue, Azure), Queue);

    public JobMessageParser Parser() => JobMessageParser.For(Qdrant.Routing, Qdrant.MaxMetadataBytes);
}
