// An Express 5 app with a mounted router and a route parameter, answering the same
// ~1 KB of JSON as the realistic route; the agent names it /api/products/:id.
import express from 'express';
import { product, serve } from './common.mjs';

const app = express();
app.disable('x-powered-by');
const products = express.Router();
products.get('/:id', (req, res) => {
  const limit = Math.min(Number(req.query.limit ?? 12), 50);
  res.json(product(req.params.id, req.query.fields ?? 'all', limit));
});
app.use('/api/products', products);

await serve(app);
