using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary><c>qdrant.Qdrant</c>: the health call, failing with Unavailable while the store is down.</summary>
[BindServiceMethod(typeof(QdrantStandInService), nameof(BindService))]
// Not sealed: grpc-dotnet binds descriptors only to virtual methods, as it does for generated service bases.
internal class QdrantStandInService(StandInStore store)
{
    public static void BindService(ServiceBinderBase binder, QdrantStandInService? service) =>
        binder.AddMethod(GrpcMethods.Unary<HealthCheckRequest, HealthCheckReply>("qdrant.Qdrant", nameof(HealthCheck)), (UnaryServerMethod<HealthCheckRequest, HealthCheckReply>)null!);

    public virtual Task<HealthCheckReply> HealthCheck(HealthCheckRequest request, ServerCallContext context) =>
        store.Down
            ? throw new RpcException(new Status(StatusCode.Unavailable, "Qdrant is down"))
            : Task.FromResult(new HealthCheckReply { Title = "qdrant stand-in", Version = store.Version });
}
