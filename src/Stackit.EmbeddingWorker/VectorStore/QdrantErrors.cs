using Grpc.Core;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Which Qdrant gRPC failures are worth another attempt.</summary>
internal static class QdrantErrors
{
    public static bool IsTransient(Exception exception) => exception is RpcException
    {
        StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted
            or StatusCode.Aborted or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled,
    };

    /// <summary>What Qdrant says is wrong with the request itself: e.g. "Vector dimension error: expected dim: 8, got 4".</summary>
    public static bool IsRejection(Exception exception) => exception is RpcException
    {
        StatusCode: StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange,
    };

    /// <summary>The collection (or alias) asked for does not exist: nothing to read or delete there.</summary>
    public static bool IsMissingCollection(Exception exception) => exception is RpcException { StatusCode: StatusCode.NotFound };

    /// <summary>A create that lost the race to another replica.</summary>
    public static bool IsAlreadyExists(Exception exception) => exception is RpcException ex
        && (ex.StatusCode == StatusCode.AlreadyExists || ex.Status.Detail.Contains("already exists", StringComparison.OrdinalIgnoreCase));
}
