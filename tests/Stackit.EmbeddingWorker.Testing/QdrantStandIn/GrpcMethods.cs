using Google.Protobuf;
using Grpc.Core;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>Unary method descriptors for Qdrant's gRPC services, built on Qdrant.Client's own message types.</summary>
internal static class GrpcMethods
{
    public static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(MethodType.Unary, service, name, MarshallerFor<TRequest>(), MarshallerFor<TResponse>());

    private static Marshaller<T> MarshallerFor<T>() where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create(message => message.ToByteArray(), parser.ParseFrom);
    }
}
