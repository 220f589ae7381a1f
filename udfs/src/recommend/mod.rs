//! Recommendations: item-item similarities for item-based collaborative filtering, top-k
//! recommendations from them, implicit-feedback matrix factorisation (ALS), and the ranking
//! metrics that judge a recommender on a holdout.

mod als;
mod als_fit;
mod als_score;
mod average_precision_at_k;
mod cooccurrence;
mod hit_rate_at_k;
mod item_similarity;
mod item_similarity_weighted;
mod ndcg_at_k;
mod precision_at_k;
mod ranking_args;
mod recall_at_k;
mod recommend_items;
mod top_items;

pub use als_fit::AlsFit;
pub use als_score::AlsScore;
pub use average_precision_at_k::AveragePrecisionAtK;
pub use hit_rate_at_k::HitRateAtK;
pub use item_similarity::ItemSimilarity;
pub use item_similarity_weighted::ItemSimilarityWeighted;
pub use ndcg_at_k::NdcgAtK;
pub use precision_at_k::PrecisionAtK;
pub use recall_at_k::RecallAtK;
pub use recommend_items::RecommendItems;

crate::macros::functions! {
    scalar AlsScore => als_score, als_score_udf;
    scalar AveragePrecisionAtK => average_precision_at_k, average_precision_at_k_udf;
    scalar HitRateAtK => hit_rate_at_k, hit_rate_at_k_udf;
    scalar NdcgAtK => ndcg_at_k, ndcg_at_k_udf;
    scalar PrecisionAtK => precision_at_k, precision_at_k_udf;
    scalar RecallAtK => recall_at_k, recall_at_k_udf;
    scalar RecommendItems => recommend_items, recommend_items_udf;
    aggregate AlsFit => als_fit, als_fit_udaf;
    aggregate ItemSimilarity => item_similarity, item_similarity_udaf;
    aggregate ItemSimilarityWeighted => item_similarity_weighted, item_similarity_weighted_udaf;
}
