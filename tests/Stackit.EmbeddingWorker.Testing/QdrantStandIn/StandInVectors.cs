using System.Globalization;
using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// A point's vectors as Qdrant checks them on upsert and returns them on reads: one unnamed dense vector in a plain
/// collection; in one with named vectors, the dense one by its name and sparse ones, given as indices and values or as
/// a <c>Document</c> for Qdrant's own <c>qdrant/bm25</c> (<see cref="StandInBm25"/>). A name the collection does not
/// have, a vector of the wrong kind or size, and a model Qdrant cannot run itself are refused with Qdrant's words.
/// </summary>
internal static class StandInVectors
{
    public static StoredPoint Validate(StandInCollection collection, PointStruct point, bool keepVector, StandInRelease release)
    {
        var payload = point.Payload.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        float[] Kept(IList<float> values) => keepVector ? [.. values] : [];
        switch (point.Vectors?.VectorsOptionsCase)
        {
            case Vectors.VectorsOptionsOneofCase.Vector:
                // An unnamed vector is the vector named "" to Qdrant.
                return new StoredPoint(point.Id.Clone(), Kept(Dense(collection, "", point.Vectors.Vector)), payload);
            case Vectors.VectorsOptionsOneofCase.Vectors_:
                float[] dense = [];
                var sparse = new Dictionary<string, Dictionary<string, float>>(StringComparer.Ordinal);
                foreach (var (name, vector) in point.Vectors.Vectors_.Vectors)
                {
                    if (collection.SparseVectors.ContainsKey(name))
                    {
                        sparse[name] = Sparse(vector, release);
                    }
                    else
                    {
                        dense = Kept(Dense(collection, name, vector));
                    }
                }
                return new StoredPoint(point.Id.Clone(), dense, payload, collection.DenseName, sparse);
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: point has no vectors"));
        }
    }

    /// <summary>The vectors of a stored point as a read of <paramref name="release"/> returns them (flat <c>data</c> before 1.17).</summary>
    public static VectorsOutput Output(StoredPoint point, StandInRelease release)
    {
#pragma warning disable CS0612 // the flat form, which Qdrant before 1.17 sends
        var dense = release.SendsFlatVectors ? new VectorOutput { Data = { point.Vector } } : new VectorOutput { Dense = new DenseVector { Data = { point.Vector } } };
#pragma warning restore CS0612
        if (point.VectorName is null)
        {
            return new VectorsOutput { Vector = dense };
        }
        var named = new NamedVectorsOutput();
        if (point.Vector.Length > 0)
        {
            named.Vectors[point.VectorName] = dense;
        }
        foreach (var (name, terms) in point.Sparse)
        {
            // The stand-in keeps terms, not Qdrant's hashed indices: a stable number per term stands in for them.
            var ordered = terms.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
            named.Vectors[name] = new VectorOutput { Sparse = new SparseVector { Indices = { ordered.Select(t => (uint)StringComparer.Ordinal.GetHashCode(t.Key)) }, Values = { ordered.Select(t => t.Value) } } };
        }
        return new VectorsOutput { Vectors = named };
    }

    private static IList<float> Dense(StandInCollection collection, string name, Vector vector)
    {
        if ((collection.DenseName ?? "") != name)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Not existing vector name error: {name}"));
        }
        IList<float> values = vector switch
        {
            { Dense: { } dense } => dense.Data,
#pragma warning disable CS0612 // the deprecated flat field is what older clients send
            { Data.Count: > 0 } flat => flat.Data,
#pragma warning restore CS0612
            { Document: not null } or { Sparse: not null } => throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Conversion between sparse and regular vectors failed for vector '{name}'")),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: stand-in expects a dense vector here")),
        };
        if ((ulong)values.Count != collection.Vectors.Size)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Vector dimension error: expected dim: {collection.Vectors.Size}, got {values.Count}"));
        }
        return values;
    }

    private static Dictionary<string, float> Sparse(Vector vector, StandInRelease release)
    {
        switch (vector)
        {
            case { Document: { } document }:
                StandInBm25.CheckModel(document, release);
                return StandInBm25.DocumentTerms(document.Text);
            case { Sparse: { } given }:
                if (given.Indices.Count != given.Values.Count || given.Indices.Distinct().Count() != given.Indices.Count)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: Validation error in JSON body: [indices: must be unique and as many as values]"));
                }
                return given.Indices.Zip(given.Values).ToDictionary(p => "#" + p.First.ToString(CultureInfo.InvariantCulture), p => p.Second, StringComparer.Ordinal);
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: Conversion between sparse and regular vectors failed"));
        }
    }
}
