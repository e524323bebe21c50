using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Jobs that came from one queue message (the documents of a backfill page): the message is settled once, when the
/// last of them is reported — stored when all were, rejected when one was (with its reason), else failed.
/// </summary>
internal sealed class JobGroup(int count)
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _remaining = count;
    private OutcomeKind _kind = OutcomeKind.Stored;
    private string? _reason;

    /// <summary>Completes when every job of the group is reported.</summary>
    public Task Completion => _done.Task;

    /// <summary>Records one job's outcome; the group's outcome when it was the last, else null.</summary>
    public (OutcomeKind Kind, string? Reason)? Report(string documentId, OutcomeKind kind, string? reason)
    {
        lock (_gate)
        {
            if (kind == OutcomeKind.Rejected || (kind == OutcomeKind.Failed && _kind == OutcomeKind.Stored))
            {
                _kind = kind;
                _reason = $"document '{documentId}': {reason}";
            }
            if (--_remaining > 0)
            {
                return null;
            }
        }
        _done.TrySetResult();
        return (_kind, _reason);
    }
}
