using System.Threading.Channels;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// How a job ends, in one place: the stages tell the lifecycle what happened, and it alone decides what follows.
/// Every job passes these steps, each with one name:
/// <list type="number">
/// <item><see cref="Enter"/>: the job takes its document's turn (<see cref="DocumentSequencer"/>); a later job of the
/// same document waits until this one is reported.</item>
/// <item><see cref="ChunksStored"/>: some of its chunks are durably stored; the writer of its last chunk finishes it.</item>
/// <item><see cref="GiveBackForRechunking"/>: the endpoint refused a chunk as too long; this generation ends without a
/// report and the next one, cut smaller, keeps the document's turn.</item>
/// <item>Reported, once: <see cref="Stored"/>, <see cref="Failed(DocumentJob, string)"/>, <see cref="Unavailable(DocumentJob, string)"/> or
/// <see cref="Rejected(DocumentJob, string)"/>. A rejected job that has stored chunks already is withdrawn (the vector store removes what it
/// wrote); a job of a backfill page reports to its page, which is settled with its last job; the message's outcome goes
/// to Acknowledgement; the document's next job may enter.</item>
/// </list>
/// A message that never became a job (refused on receipt, unreadable, a page that could not be read) is reported by its
/// lease. The outcome channel holds one outcome per in-flight message, so a report never waits; after the channel is
/// completed at shutdown, a report is dropped and its message stays leased, to be handed back by the lease keeper.
/// </summary>
internal sealed class JobLifecycle(ChannelWriter<JobOutcome> outcomes, DocumentSequencer? sequencer = null, ChannelWriter<Withdrawal>? withdrawals = null)
{
    /// <summary>Step 1: true when <paramref name="job"/> may go on now; otherwise it waits for its document's turn.</summary>
    public bool Enter(DocumentJob job) => sequencer?.TryEnter(job) ?? true;

    /// <summary>
    /// Step 2: <paramref name="count"/> chunks of <paramref name="job"/> are stored. True when they included the job's
    /// last and the job is still running: the caller finishes it (tail delete, then <see cref="Stored"/>). A job
    /// rejected meanwhile is withdrawn, so what was just written goes too.
    /// </summary>
    public bool ChunksStored(DocumentJob job, int count)
    {
        var last = job.Progress.ChunksStored(count);
        if (job.Progress.WasRejected)
        {
            Withdraw(job);
            return false;
        }
        return last && !job.Progress.IsSettled;
    }

    /// <summary>
    /// Step 3: the job's current chunks are abandoned (those still in the pipeline are dropped, since its progress is
    /// settled) and its next generation, to be chunked smaller, is returned; null when the job had ended already.
    /// </summary>
    public DocumentJob? GiveBackForRechunking(DocumentJob job) => job.Progress.TrySettle() ? job.NextGeneration() : null;

    /// <summary>Step 4: every chunk is stored (or there was nothing to do): the message can be deleted.</summary>
    public void Stored(DocumentJob job) => Report(job, OutcomeKind.Stored, null);

    /// <summary>Step 4: the job can never succeed as sent: it is withdrawn where it stored chunks, and poisoned.</summary>
    public void Rejected(DocumentJob job, string reason) => Report(job, OutcomeKind.Rejected, reason);

    /// <summary>Step 4: the job failed on its own account (an attempt counts).</summary>
    public void Failed(DocumentJob job, string reason) => Report(job, OutcomeKind.Failed, reason);

    /// <summary>Step 4: a dependency was down when the job failed (no attempt counts).</summary>
    public void Unavailable(DocumentJob job, string reason) => Report(job, OutcomeKind.Unavailable, reason);

    /// <summary>A message that never became a job and never can (refused on receipt, not a valid job or page).</summary>
    public void Rejected(QueueLease lease, string reason) => outcomes.TryWrite(new JobOutcome(lease, null, OutcomeKind.Rejected, reason));

    /// <summary>A message whose job could not be read yet (its blob is missing).</summary>
    public void Failed(QueueLease lease, string reason) => outcomes.TryWrite(new JobOutcome(lease, null, OutcomeKind.Failed, reason));

    /// <summary>A message whose job could not be read because a dependency is down (storage, Qdrant for a page).</summary>
    public void Unavailable(QueueLease lease, string reason) => outcomes.TryWrite(new JobOutcome(lease, null, OutcomeKind.Unavailable, reason));

    /// <summary>No more outcomes: called by the last stage that reports them, when it ends.</summary>
    public void Complete() => outcomes.TryComplete();

    private void Report(DocumentJob job, OutcomeKind kind, string? reason)
    {
        if (!job.Progress.TrySettle())
        {
            return;
        }
        if (kind == OutcomeKind.Rejected && job.Progress.MarkRejected())
        {
            // Some of its chunks are stored already: they go, or the document would be half new, half old.
            Withdraw(job);
        }
        if (job.Group is not { } group)
        {
            outcomes.TryWrite(new JobOutcome(job.Lease, job.Message.Id, kind, reason));
        }
        else if (group.Report(job.Message.Id, kind, reason) is { } page)
        {
            // The last document of a backfill page: the page's message is settled for all of them.
            outcomes.TryWrite(new JobOutcome(job.Lease, null, page.Kind, page.Reason));
        }
        // The document's next job, if one waits, may go now: this one writes nothing more.
        sequencer?.Leave(job);
    }

    /// <summary>Hands a rejected job to the vector store, which removes what it wrote (never a newer job's points).</summary>
    private void Withdraw(DocumentJob job) => withdrawals?.TryWrite(new Withdrawal(job));
}
