using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure.QdrantStandIn;

/// <summary>
/// The part of Qdrant's filter language the worker uses: must/should/must_not over keyword (one or any of
/// several) and integer matches, numeric ranges and datetime ranges. Anything else is answered with Unimplemented, never silently matched.
/// </summary>
internal static class FilterEvaluator
{
    public static bool Matches(Filter filter, StoredPoint point) =>
        filter.Must.All(c => Matches(c, point))
        && (filter.Should.Count == 0 || filter.Should.Any(c => Matches(c, point)))
        && !filter.MustNot.Any(c => Matches(c, point));

    private static bool Matches(Condition condition, StoredPoint point) => condition.ConditionOneOfCase switch
    {
        Condition.ConditionOneOfOneofCase.Field => Matches(condition.Field, point),
        Condition.ConditionOneOfOneofCase.Filter => Matches(condition.Filter, point),
        _ => throw Unsupported(condition.ConditionOneOfCase.ToString()),
    };

    private static bool Matches(FieldCondition field, StoredPoint point)
    {
        point.Payload.TryGetValue(field.Key, out var value);
        if (field.Match is { } match)
        {
            return match.MatchValueCase switch
            {
                Match.MatchValueOneofCase.Keyword => value?.KindCase == Value.KindOneofCase.StringValue && value.StringValue == match.Keyword,
                Match.MatchValueOneofCase.Integer => value?.KindCase == Value.KindOneofCase.IntegerValue && value.IntegerValue == match.Integer,
                Match.MatchValueOneofCase.Keywords => value?.KindCase == Value.KindOneofCase.StringValue && match.Keywords.Strings.Contains(value.StringValue),
                _ => throw Unsupported("match " + match.MatchValueCase),
            };
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

    private static RpcException Unsupported(string what) =>
        new(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in does not implement {what}"));
}
