using Google.Protobuf.Collections;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// What made a collection's vectors, recorded in its Qdrant metadata when the worker creates it: the embedding model,
/// the vector size, the <c>dimensions</c> asked of the endpoint (none: the model's own size), and whether it holds text
/// or text with images. A collection owns its model: a backfill compares it with what it would build, and the copy
/// reuses the source's vectors where the model and size are the same.
/// </summary>
internal sealed record CollectionModel(string Model, ulong VectorSize, int? Dimensions, bool Multimodal)
{
    public const string ModelKey = "embedding_model";
    public const string VectorSizeKey = "embedding_vector_size";
    public const string DimensionsKey = "embedding_dimensions";
    public const string ModalityKey = "embedding_modality";

    public void WriteTo(MapField<string, Value> metadata)
    {
        metadata[ModelKey] = Model;
        metadata[VectorSizeKey] = (long)VectorSize;
        if (Dimensions is { } dimensions)
        {
            metadata[DimensionsKey] = (long)dimensions;
        }
        metadata[ModalityKey] = Multimodal ? "multimodal" : "text";
    }

    /// <summary>The record in a collection's metadata; null for a collection made before the worker kept one (or by hand).</summary>
    public static CollectionModel? From(MapField<string, Value>? metadata, ulong vectorSize) =>
        metadata is not null && metadata.TryGetValue(ModelKey, out var model) && model.StringValue is { Length: > 0 } name
            ? new CollectionModel(
                name,
                metadata.TryGetValue(VectorSizeKey, out var size) && size.KindCase == Value.KindOneofCase.IntegerValue ? (ulong)size.IntegerValue : vectorSize,
                metadata.TryGetValue(DimensionsKey, out var dimensions) && dimensions.KindCase == Value.KindOneofCase.IntegerValue ? (int)dimensions.IntegerValue : null,
                metadata.TryGetValue(ModalityKey, out var modality) && modality.StringValue == "multimodal")
            : null;

    /// <summary>Whether a vector of this record can stand in for one of <paramref name="other"/>: same model, same size.</summary>
    public bool SameVectorsAs(CollectionModel other) =>
        string.Equals(Model, other.Model, StringComparison.Ordinal) && VectorSize == other.VectorSize && Multimodal == other.Multimodal;

    public override string ToString() =>
        $"{Model}, {VectorSize} dimensions{(Dimensions is { } d ? $" (dimensions={d})" : "")}, {(Multimodal ? "text and images" : "text")}";
}
