using Grpc.Core;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>What a Qdrant failure means for the call and the job that made it.</summary>
internal enum QdrantFailure
{
    /// <summary>Worth another attempt: the call is retried, then the job goes back to the queue; its circuit counts it.</summary>
    Transient,

    /// <summary>The request itself is wrong (a vector of the wrong size, a bad id): the job is rejected and poisoned with the reason.</summary>
    Rejected,

    /// <summary>
    /// Qdrant refuses the worker, not the job (a key without the right, a strict-mode rule the collection's indexes do not
    /// meet, an operation this deployment cannot do): not retried in the call, never poisoned; the job goes back to the
    /// queue and the circuit opens until an operator fixes it.
    /// </summary>
    Refused,

    /// <summary>The collection or alias named does not exist.</summary>
    Missing,

    /// <summary>A collection (or a collection of an alias's name) exists already: a create that lost a race.</summary>
    AlreadyExists,
}

/// <summary>
/// Qdrant's gRPC failures by status code, as Qdrant makes them (lib/storage/src/content_manager/conversions.rs,
/// <c>From&lt;StorageError&gt; for Status</c>, and the collection errors it wraps in errors.rs), not by their wording.
/// The one wording read is strict mode's, which Qdrant sends as a plain bad request. docs/qdrant.md has the table.
/// </summary>
internal static class QdrantErrors
{
    /// <summary>
    /// Qdrant's own wording of a strict-mode refusal (verification/mod.rs <c>check_request_filter</c>, sent as
    /// StorageError::BadRequest, InvalidArgument): a filter on a field without a payload index.
    /// </summary>
    private const string StrictModeIndexRequired = "Index required but not found";

    public static QdrantFailure Classify(StatusCode code, string detail) => code switch
    {
        // ServiceError (also Cancelled, OutOfMemory, object store), Timeout, ShardUnavailable, RateLimitExceeded and
        // InsufficientStorage (ResourceExhausted), PreconditionFailed ("No target shard … found for update" while a
        // shard is created or moved), Locked (writes locked by an operator), and what the transport reports.
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
            or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.FailedPrecondition => QdrantFailure.Transient,
        // BadInput, BadRequest, InferenceError; strict mode is a BadRequest too, but the collection's, not the job's.
        StatusCode.InvalidArgument when detail.Contains(StrictModeIndexRequired, StringComparison.Ordinal) => QdrantFailure.Refused,
        StatusCode.InvalidArgument or StatusCode.OutOfRange => QdrantFailure.Rejected,
        StatusCode.NotFound => QdrantFailure.Missing,
        StatusCode.AlreadyExists => QdrantFailure.AlreadyExists,
        // Forbidden (a read-only or collection-bound key), a missing or wrong key, StandaloneMode, ChecksumMismatch.
        _ => QdrantFailure.Refused,
    };

    public static bool IsTransient(Exception exception) => Is(exception, QdrantFailure.Transient);

    /// <summary>What Qdrant says is wrong with the request itself: e.g. "Vector dimension error: expected dim: 8, got 4".</summary>
    public static bool IsRejection(Exception exception) => Is(exception, QdrantFailure.Rejected);

    /// <summary>The collection (or alias) asked for does not exist: nothing to read or delete there.</summary>
    public static bool IsMissingCollection(Exception exception) => Is(exception, QdrantFailure.Missing);

    /// <summary>A create that lost the race to another replica (by its code: an alias of that name is a different refusal).</summary>
    public static bool IsAlreadyExists(Exception exception) => Is(exception, QdrantFailure.AlreadyExists);

    private static bool Is(Exception exception, QdrantFailure failure) =>
        exception is RpcException ex && Classify(ex.StatusCode, ex.Status.Detail) == failure;
}
