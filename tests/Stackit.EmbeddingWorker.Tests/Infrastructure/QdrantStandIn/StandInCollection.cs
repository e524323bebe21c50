using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure.QdrantStandIn;

/// <summary>One collection: its vector parameters, its points by id, and its payload indexes.</summary>
public sealed class StandInCollection(string name, VectorParams vectors)
{
    public string Name { get; } = name;

    public VectorParams Vectors { get; } = vectors;

    public Dictionary<string, StoredPoint> Points { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, PayloadSchemaType> PayloadIndexes { get; } = new(StringComparer.Ordinal);
}

public sealed record StoredPoint(PointId Id, float[] Vector, IReadOnlyDictionary<string, Value> Payload)
{
    public string Key => Id.HasUuid ? Id.Uuid : Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
