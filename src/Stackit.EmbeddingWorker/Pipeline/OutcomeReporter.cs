using System.Threading.Channels;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// How every stage tells Acknowledgement that a job is done or failed. A job is reported once. The outcome
/// channel holds one outcome per in-flight message, so a report never waits; after the channel is completed
/// at shutdown, a report is dropped and its message stays leased, to be released for another replica.
/// </summary>
internal sealed class OutcomeReporter(ChannelWriter<JobOutcome> outcomes, DocumentSequencer? sequencer = null, ChannelWriter<DocumentJob>? withdrawals = null)
{
    public void Stored(DocumentJob job) => Report(job, OutcomeKind.Stored, null);

    public void Rejected(DocumentJob job, string reason) => Report(job, OutcomeKind.Rejected, reason);

    public void Failed(DocumentJob job, string reason) => Report(job, OutcomeKind.Failed, reason);

    /// <summary>
    /// For a message that never became a job (it could not be parsed). <paramref name="holdsSlot"/>: it took one of
    /// Intake's in-flight slots (live messages do, backfill pages do not).
    /// </summary>
    public void Rejected(QueueLease lease, string reason, bool holdsSlot = true) =>
        outcomes.TryWrite(new JobOutcome(lease, null, OutcomeKind.Rejected, reason, holdsSlot));

    /// <summary>For a message whose job could not be read yet (its blob is missing or unreachable).</summary>
    public void Failed(QueueLease lease, string reason, bool holdsSlot = true) =>
        outcomes.TryWrite(new JobOutcome(lease, null, OutcomeKind.Failed, reason, holdsSlot));

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
            withdrawals?.TryWrite(job);
        }
        if (job.Group is not { } group)
        {
            outcomes.TryWrite(new JobOutcome(job.Lease, job.Message.Id, kind, reason));
        }
        else if (group.Report(job.Message.Id, kind, reason) is { } page)
        {
            // The last document of a backfill page: the page's message is settled for all of them.
            outcomes.TryWrite(new JobOutcome(job.Lease, null, page.Kind, page.Reason, HoldsSlot: false));
        }
        // The document's next job, if one waits, may go now: this one writes nothing more.
        sequencer?.Leave(job);
    }
}
