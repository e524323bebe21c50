using Grpc.Core;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// The part of Qdrant's filter language the worker uses: must/should/must_not over keyword (one or any of
/// several), integer and boolean matches on top-level or nested (<c>a.b</c>) keys, numeric ranges and datetime ranges. Anything else is answered with Unimplemented, never silently matched.
/// </summary>
internal static class FilterEvaluator
{
    /// <summary>Whether the point matches; loops by index, as the filters of a delete are evaluated on every point it names.</summary>
    public static bool Matches(Filter filter, StoredPoint point)
    {
        for (var i = 0; i < filter.Must.Count; i++)
        {
            if (!Matches(filter.Must[i], point))
            {
                return false;
            }
        }
        for (var i = 0; i < filter.MustNot.Count; i++)
        {
            if (Matches(filter.MustNot[i], point))
            {
                return false;
            }
        }
        if (filter.Should.Count == 0)
        {
            return true;
        }
        for (var i = 0; i < filter.Should.Count; i++)
        {
            if (Matches(filter.Should[i], point))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The document ids a point must have to match <paramref name="filter"/>, or null when the filter does not
    /// narrow them: a <c>doc_id</c> keyword match among its musts, or among every one of its shoulds. A superset
    /// at worst; the filter itself is still evaluated on each point.
    /// </summary>
    public static IReadOnlyCollection<string>? DocumentsRequired(Filter filter)
    {
        foreach (var condition in filter.Must)
        {
            if (DocumentsRequired(condition) is { } documents)
            {
                return documents;
            }
        }
        if (filter.Should.Count == 0)
        {
            return null;
        }
        var any = new HashSet<string>(StringComparer.Ordinal);
        foreach (var condition in filter.Should)
        {
            if (DocumentsRequired(condition) is not { } documents)
            {
                return null;
            }
            any.UnionWith(documents);
        }
        return any;
    }

    private static IReadOnlyCollection<string>? DocumentsRequired(Condition condition) => condition.ConditionOneOfCase switch
    {
        Condition.ConditionOneOfOneofCase.Filter => DocumentsRequired(condition.Filter),
        Condition.ConditionOneOfOneofCase.Field when condition.Field.Key == PayloadFields.DocumentId => condition.Field.Match?.MatchValueCase switch
        {
            Match.MatchValueOneofCase.Keyword => [condition.Field.Match.Keyword],
            Match.MatchValueOneofCase.Keywords => [.. condition.Field.Match.Keywords.Strings],
            _ => null,
        },
        _ => null,
    };

    private static bool Matches(Condition condition, StoredPoint point) => condition.ConditionOneOfCase switch
    {
        Condition.ConditionOneOfOneofCase.Field => Matches(condition.Field, point),
        Condition.ConditionOneOfOneofCase.Filter => Matches(condition.Filter, point),
        // Qdrant's is_empty: the field is missing, null or an empty array.
        Condition.ConditionOneOfOneofCase.IsEmpty => ValueAt(point.Payload, condition.IsEmpty.Key) is not { } value
            || value.KindCase == Value.KindOneofCase.NullValue || (value.KindCase == Value.KindOneofCase.ListValue && value.ListValue.Values.Count == 0),
        _ => throw Unsupported(condition.ConditionOneOfCase.ToString()),
    };

    private static bool Matches(FieldCondition field, StoredPoint point)
    {
        var value = ValueAt(point.Payload, field.Key);
        if (field.Match is { } match)
        {
            // A match on an array field matches when any of its values does, as Qdrant's payload conditions do.
            if (value?.KindCase == Value.KindOneofCase.ListValue)
            {
                return value.ListValue.Values.Any(item => Matches(match, item));
            }
            return Matches(match, value);
        }
        if (field.Range is { } range)
        {
            double? number = value?.KindCase switch
            {
                Value.KindOneofCase.IntegerValue => value.IntegerValue,
                Value.KindOneofCase.DoubleValue => value.DoubleValue,
                _ => null,
            };
            return number is { } n
                && (!range.HasGte || n >= range.Gte) && (!range.HasGt || n > range.Gt)
                && (!range.HasLte || n <= range.Lte) && (!range.HasLt || n < range.Lt);
        }
        if (field.DatetimeRange is { } datetimes)
        {
            // Qdrant parses RFC 3339 strings in the payload; a value that is none does not match.
            if (value?.KindCase != Value.KindOneofCase.StringValue
                || !DateTimeOffset.TryParse(value.StringValue, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at))
            {
                return false;
            }
            return (datetimes.Gte is null || at >= datetimes.Gte.ToDateTimeOffset()) && (datetimes.Gt is null || at > datetimes.Gt.ToDateTimeOffset())
                && (datetimes.Lte is null || at <= datetimes.Lte.ToDateTimeOffset()) && (datetimes.Lt is null || at < datetimes.Lt.ToDateTimeOffset());
        }
        throw Unsupported("field condition on " + field.Key);
    }

    private static bool Matches(Match match, Value? value) => match.MatchValueCase switch
    {
        Match.MatchValueOneofCase.Keyword => value?.KindCase == Value.KindOneofCase.StringValue && value.StringValue == match.Keyword,
        Match.MatchValueOneofCase.Integer => value?.KindCase == Value.KindOneofCase.IntegerValue && value.IntegerValue == match.Integer,
        Match.MatchValueOneofCase.Keywords => value?.KindCase == Value.KindOneofCase.StringValue && match.Keywords.Strings.Contains(value.StringValue),
        Match.MatchValueOneofCase.Boolean => value?.KindCase == Value.KindOneofCase.BoolValue && value.BoolValue == match.Boolean,
        _ => throw Unsupported("match " + match.MatchValueCase),
    };

    /// <summary>The value at a key, where <c>a.b</c> is field <c>b</c> of the object at <c>a</c>, as Qdrant reads nested payload.</summary>
    private static Value? ValueAt(IReadOnlyDictionary<string, Value> payload, string key)
    {
        var dot = key.IndexOf('.', StringComparison.Ordinal);
        if (payload.TryGetValue(key, out var value) || dot < 0)
        {
            return value;
        }
        return payload.TryGetValue(key[..dot], out var parent) && parent.KindCase == Value.KindOneofCase.StructValue
            ? ValueAt(parent.StructValue.Fields, key[(dot + 1)..])
            : null;
    }

    private static RpcException Unsupported(string what) =>
        new(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in does not implement {what}"));
}
