import t from 'tap';
import {
  checkLegacyPotentialPromotions,
  checkLegacyPromotion,
  legacyCartToEvaluation,
  legacyPotentialPromotionToOcc,
  legacyPromotionToOcc,
  legacyPromotionToSummary,
  promotionToOccPotentialPromotion,
  promotionToOccPromotion,
} from '../../src/contexts/promotions/legacy/mapper.js';
import { evaluationToOccCartTotals } from '../../src/occ/carts.js';
import { checkCartEvaluation, checkProductPromotionBatch, checkPromotion, checkPromotionList } from '../../src/contexts/promotions/modern/payload.js';
import { runFixtures } from './acl-fixtures.js';

t.test('golden fixtures', async (t) => {
  runFixtures(
    t,
    'promotions',
    {
      legacyPromotionToSummary,
      checkLegacyPromotion,
      checkLegacyPotentialPromotions,
      legacyPromotionToOcc,
      legacyPotentialPromotionToOcc,
      promotionToOccPromotion,
      promotionToOccPotentialPromotion,
      legacyCartToEvaluation,
      evaluationToOccCartTotals,
      checkPromotion,
      checkPromotionList,
      checkProductPromotionBatch,
      checkCartEvaluation,
    },
    {
      mapResult: [
        'legacyPromotionToSummary',
        'checkLegacyPromotion',
        'checkLegacyPotentialPromotions',
        'legacyCartToEvaluation',
        'checkPromotion',
        'checkPromotionList',
        'checkProductPromotionBatch',
        'checkCartEvaluation',
      ],
    },
  );
});
