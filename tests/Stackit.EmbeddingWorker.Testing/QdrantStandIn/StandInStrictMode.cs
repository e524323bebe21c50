using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// Qdrant's strict mode as far as the worker meets it (lib/collection/src/operations/verification): with
/// <c>unindexed_filtering_update: false</c> a delete by filter, and with <c>unindexed_filtering_retrieve: false</c> a
/// scroll, count or query, may filter only on fields with a payload index of a fitting type. An upsert's
/// <c>update_filter</c> is not checked (verification/update.rs: it is judged on few points). The refusal is Qdrant's:
/// InvalidArgument, "Bad request: Index required but not found for …".
/// </summary>
internal static class StandInStrictMode
{
    public static Filter? CheckUpdate(StandInCollection collection, Filter? filter) =>
        Check(collection, filter, collection.Config.StrictModeConfig is { Enabled: true, HasUnindexedFilteringUpdate: true, UnindexedFilteringUpdate: false });

    public static Filter? CheckRetrieve(StandInCollection collection, Filter? filter) =>
        Check(collection, filter, collection.Config.StrictModeConfig is { Enabled: true, HasUnindexedFilteringRetrieve: true, UnindexedFilteringRetrieve: false });

    private static Filter? Check(StandInCollection collection, Filter? filter, bool indexedOnly)
    {
        if (indexedOnly && filter is not null)
        {
            foreach (var (field, fitting) in Fields(filter))
            {
                if (!collection.PayloadIndexes.TryGetValue(field, out var type) || !fitting.Contains(type))
                {
                    var kinds = string.Join(", ", fitting.Select(t => t.ToString().ToLowerInvariant()).Order(StringComparer.Ordinal));
                    throw new RpcException(new Status(StatusCode.InvalidArgument,
                        $"Bad request: Index required but not found for \"{field}\" of one of the following types: [{kinds}]. Help: Create an index for this key or use a different filter."));
                }
            }
        }
        return filter;
    }

    private static IEnumerable<(string Field, PayloadSchemaType[] Fitting)> Fields(Filter filter) =>
        filter.Must.Concat(filter.Should).Concat(filter.MustNot).SelectMany(Fields);

    private static IEnumerable<(string Field, PayloadSchemaType[] Fitting)> Fields(Condition condition) => condition.ConditionOneOfCase switch
    {
        Condition.ConditionOneOfOneofCase.Filter => Fields(condition.Filter),
        Condition.ConditionOneOfOneofCase.Field => [(condition.Field.Key, Fitting(condition.Field))],
        _ => [],
    };

    private static PayloadSchemaType[] Fitting(FieldCondition field) =>
        field.Match is { } match ? match.MatchValueCase switch
        {
            Match.MatchValueOneofCase.Integer => [PayloadSchemaType.Integer],
            Match.MatchValueOneofCase.Boolean => [PayloadSchemaType.Bool],
            _ => [PayloadSchemaType.Keyword, PayloadSchemaType.Uuid],
        }
        : field.Range is not null ? [PayloadSchemaType.Integer, PayloadSchemaType.Float]
        : field.DatetimeRange is not null ? [PayloadSchemaType.Datetime]
        : [];
}
