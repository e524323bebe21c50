using System.Threading.Channels;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The bounded channels between the stages. When a later stage slows down they fill up and the stages
/// before it wait, until Intake stops receiving and the backlog stays in the queue.
/// </summary>
/// <remarks>
/// The straight path is Jobs → Chunks → Batches → Embedded → Outcomes; backfill copies take the copy lane,
/// CopyChunks → CopyBatches, from Preparation to Embeddings, which takes live batches first. <see cref="Resumed"/> feeds Preparation
/// the jobs that waited for an earlier job of their document. Three named routes leave the path:
/// <see cref="Deletions"/> (Preparation to the vector store: a delete needs no embedding),
/// <see cref="Embedded"/> written by Preparation too (an unchanged chunk keeps its stored vector), and
/// <see cref="Rechunks"/> (Embeddings back to Preparation: a chunk the model refused as too long), and
/// <see cref="Withdrawals"/> (the lifecycle to the vector store: a job rejected after some of its chunks were stored).
/// Each route carries a record of its own (<see cref="Deletion"/>, <see cref="Rechunk"/>, <see cref="Resumption"/>,
/// <see cref="Withdrawal"/>), so a stage wired to the wrong one does not compile.
/// </remarks>
internal sealed class PipelineChannels(ChannelCapacities capacities)
{
    public Channel<DocumentJob> Jobs { get; } = Bounded<DocumentJob>(capacities.Jobs);

    public Channel<Deletion> Deletions { get; } = Bounded<Deletion>(capacities.Jobs);

    /// <summary>
    /// Jobs to chunk again, smaller. A job is in flight once, so this holds one per in-flight message at most
    /// and a writer never waits on it: the feedback loop through Preparation cannot block the stages it feeds.
    /// </summary>
    public Channel<Rechunk> Rechunks { get; } = Bounded<Rechunk>(capacities.InFlightMessages);

    /// <summary>
    /// Jobs whose turn has come: each waited in the <see cref="DocumentSequencer"/> for an earlier job of its
    /// document. One per in-flight message at most, so releasing a job never waits.
    /// </summary>
    public Channel<Resumption> Resumed { get; } = Bounded<Resumption>(capacities.InFlightMessages);

    /// <summary>
    /// Jobs rejected after some of their chunks were stored: the vector store removes what they wrote, so no document
    /// is left half new and half old. Written without waiting by whichever stage rejects (a job is rejected once, and
    /// at most once more by the writer that stored its last chunks), so it is bounded by the jobs in flight.
    /// </summary>
    public Channel<Withdrawal> Withdrawals { get; } = Channel.CreateUnbounded<Withdrawal>();

    /// <summary>Chunks of live jobs (and of backfill copies, when <see cref="CopyChunks"/> is not used).</summary>
    public Channel<DocumentChunk> Chunks { get; } = Bounded<DocumentChunk>(capacities.Chunks);

    public Channel<EmbeddingBatch> Batches { get; } = Bounded<EmbeddingBatch>(capacities.Batches);

    /// <summary>
    /// The copy lane: chunks of backfill copies, batched apart from live ones into <see cref="CopyBatches"/>, so a live
    /// chunk never waits behind copy chunks in a channel (<see cref="ChunkLanes"/>). Not bounded here: a full copy lane
    /// would hold up Preparation, and with it the live jobs behind a copy job; the backfill pages in work
    /// (<c>Backfill:ConcurrentPages</c>) bound what it holds, as they bound the copy jobs.
    /// </summary>
    /// <remarks>Not a single-reader channel: that kind cannot count its items, and the <c>stage.waiting</c> gauge counts them.</remarks>
    public Channel<DocumentChunk> CopyChunks { get; } = Channel.CreateUnbounded<DocumentChunk>();

    public Channel<EmbeddingBatch> CopyBatches { get; } = Bounded<EmbeddingBatch>(capacities.Batches);

    public Channel<EmbeddedChunk> Embedded { get; } = Bounded<EmbeddedChunk>(capacities.Embedded);

    /// <summary>One outcome per in-flight message at most, so writers never wait on it.</summary>
    public Channel<JobOutcome> Outcomes { get; } = Bounded<JobOutcome>(capacities.InFlightMessages);

    private static Channel<T> Bounded<T>(int capacity) =>
        Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
}

/// <summary>
/// How many items each channel holds; the wiring derives them from the stages' options. <c>InFlightMessages</c> is
/// the most jobs in flight: live messages and the documents of the backfill pages in work.
/// </summary>
internal sealed record ChannelCapacities(int InFlightMessages, int Jobs, int Chunks, int Batches, int Embedded)
{
    /// <summary>Jobs are handed on in groups of at most one receive batch, twice over.</summary>
    public const int DefaultJobs = 2 * InFlightLimiter.MaxReceiveBatch;
}
