using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// Qdrant's Query API as the worker and its helper commands use it, evaluated exactly: the nearest points to a dense
/// vector by the collection's distance (cosine on normalised vectors, dot product, or Euclidean distance ascending);
/// the best by BM25 for a <c>Document</c> on a sparse vector (<see cref="StandInBm25"/>); a random sample; or the
/// reciprocal-rank fusion of prefetches (each list adds 1/(rank + 2), ranks from 0, as Qdrant's RRF with its default
/// k). The filter applies to the prefetches too; then score threshold, offset and limit (10 when unset). A vector name
/// the collection does not have, a query of the wrong kind for it, or of the wrong size, is refused as Qdrant refuses it.
/// </summary>
internal static class StandInQuery
{
    private const int RrfK = 2;

    public static List<ScoredPoint> Run(StandInCollection collection, QueryPoints request, Random random, StandInRelease release)
    {
        IEnumerable<(StoredPoint Point, float Score)> ranked = Rank(collection, request.Query, request.HasUsing ? request.Using : null, request.Prefetch, request.Filter, random, release);
        if (request.HasScoreThreshold)
        {
            var euclid = collection.Vectors.Distance == Distance.Euclid && request.Query?.VariantCase == Query.VariantOneofCase.Nearest;
            ranked = ranked.Where(r => euclid ? r.Score <= request.ScoreThreshold : r.Score >= request.ScoreThreshold);
        }
        var limit = request.HasLimit ? (int)request.Limit : 10;
        var offset = request.HasOffset ? (int)request.Offset : 0;
        return ranked.Skip(offset).Take(limit).Select(r => Scored(r.Point, r.Score, request.WithPayload, request.WithVectors, release)).ToList();
    }

    private static List<(StoredPoint Point, float Score)> Rank(StandInCollection collection, Query? query, string? vectorName, IList<PrefetchQuery> prefetch, Filter? filter, Random random, StandInRelease release)
    {
        if (prefetch.Count > 0)
        {
            if (query is not { VariantCase: Query.VariantOneofCase.Fusion, Fusion: Fusion.Rrf })
            {
                throw new RpcException(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in implements prefetch with RRF fusion only, not {query?.VariantCase}"));
            }
            var lists = prefetch.Select(p => Rank(collection, p.Query, p.HasUsing ? p.Using : null, p.Prefetch, Both(filter, p.Filter), random, release).Take(p.HasLimit ? (int)p.Limit : 10).ToList()).ToList();
            return Fuse(lists);
        }
        var candidates = collection.Matching(filter).ToList();
        return query?.VariantCase switch
        {
            Query.VariantOneofCase.Nearest => Nearest(collection, vectorName ?? "", query.Nearest, candidates, release),
            Query.VariantOneofCase.Sample => [.. candidates.OrderBy(_ => random.Next()).Select(p => (p, 0f))],
            _ => throw new RpcException(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in does not implement query {query?.VariantCase}")),
        };
    }

    private static List<(StoredPoint Point, float Score)> Nearest(StandInCollection collection, string vectorName, VectorInput input, List<StoredPoint> candidates, StandInRelease release)
    {
        var sparse = collection.SparseVectors.TryGetValue(vectorName, out var idf);
        if (!sparse && (collection.DenseName ?? "") != vectorName)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Not existing vector name error: {vectorName}"));
        }
        switch (input.VariantCase)
        {
            case VectorInput.VariantOneofCase.Dense when !sparse:
                var query = input.Dense.Data.ToArray();
                if ((ulong)query.Length != collection.Vectors.Size)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Vector dimension error: expected dim: {collection.Vectors.Size}, got {query.Length}"));
                }
                var distance = collection.Vectors.Distance;
                var scored = candidates.Where(p => p.Vector.Length > 0).Select(p => (Point: p, Score: Similarity(distance, query, p.Vector)));
                // Ties in id order, so a result list is the same on every call.
                return [.. (distance == Distance.Euclid ? scored.OrderBy(s => s.Score) : scored.OrderByDescending(s => s.Score)).ThenBy(s => s.Point.Key, StringComparer.Ordinal)];
            case VectorInput.VariantOneofCase.Document when sparse:
                StandInBm25.CheckModel(input.Document, release);
                return [.. StandInBm25.Score(vectorName, StandInBm25.QueryTerms(input.Document.Text), collection.Points.Values.ToList(), candidates, idf)
                    .OrderByDescending(s => s.Score).ThenBy(s => s.Point.Key, StringComparer.Ordinal)];
            case VectorInput.VariantOneofCase.Dense or VectorInput.VariantOneofCase.Document or VectorInput.VariantOneofCase.Sparse:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Conversion between sparse and regular vectors failed for vector '{vectorName}'"));
            default:
                throw new RpcException(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in does not implement nearest by {input.VariantCase}"));
        }
    }

    private static List<(StoredPoint Point, float Score)> Fuse(List<List<(StoredPoint Point, float Score)>> lists)
    {
        var fused = new Dictionary<string, (StoredPoint Point, float Score)>(StringComparer.Ordinal);
        foreach (var list in lists)
        {
            for (var rank = 0; rank < list.Count; rank++)
            {
                var point = list[rank].Point;
                var add = 1f / (rank + RrfK);
                fused[point.Key] = fused.TryGetValue(point.Key, out var sum) ? (point, sum.Score + add) : (point, add);
            }
        }
        return [.. fused.Values.OrderByDescending(f => f.Score).ThenBy(f => f.Point.Key, StringComparer.Ordinal)];
    }

    private static Filter? Both(Filter? outer, Filter? inner) =>
        outer is null ? inner : inner is null ? outer : new Filter { Must = { new Condition { Filter = outer }, new Condition { Filter = inner } } };

    private static float Similarity(Distance distance, float[] query, float[] stored)
    {
        switch (distance)
        {
            case Distance.Cosine:
                return (float)(Dot(query, stored) / Math.Max(Math.Sqrt(Dot(query, query) * Dot(stored, stored)), double.Epsilon));
            case Distance.Dot:
                return (float)Dot(query, stored);
            case Distance.Euclid:
                var sum = 0.0;
                for (var i = 0; i < query.Length; i++)
                {
                    sum += (query[i] - stored[i]) * (double)(query[i] - stored[i]);
                }
                return (float)Math.Sqrt(sum);
            default:
                throw new RpcException(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in does not implement distance {distance}"));
        }
    }

    private static double Dot(float[] a, float[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * (double)b[i];
        }
        return sum;
    }

    /// <summary>A point as a query answers it: payload as selected (none unless asked, as Qdrant's Query API does), vectors when asked.</summary>
    private static ScoredPoint Scored(StoredPoint point, float score, WithPayloadSelector? withPayload, WithVectorsSelector? withVectors, StandInRelease release)
    {
        var scoredPoint = new ScoredPoint { Id = point.Id, Score = score };
        PointsStandInService.Select(point, withPayload, byDefault: false, scoredPoint.Payload);
        if (withVectors?.Enable == true)
        {
            scoredPoint.Vectors = StandInVectors.Output(point, release);
        }
        return scoredPoint;
    }
}
