using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Times every call the Qdrant client makes (all unary) and records it as <c>db.client.operation.duration</c>, by
/// operation (the gRPC method: Upsert, Scroll, Delete, …) and, for a failed call, its gRPC status as <c>error.type</c>.
/// </summary>
internal sealed class QdrantCallMetrics(WorkerMetrics metrics) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(Observe(call.ResponseAsync, context.Method.Name, started), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private async Task<TResponse> Observe<TResponse>(Task<TResponse> response, string operation, long started)
    {
        try
        {
            var result = await response.ConfigureAwait(false);
            metrics.QdrantCalled(operation, Stopwatch.GetElapsedTime(started), null);
            return result;
        }
        catch (RpcException ex)
        {
            metrics.QdrantCalled(operation, Stopwatch.GetElapsedTime(started), ex.StatusCode.ToString());
            throw;
        }
    }
}
