// The home page's charts: each shop's orders and sales per day, stacked, from the page's own data.
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const colours = ["#2456c8", "#e07b22", "#2a9d5c", "#b43c8c", "#6b7bd6", "#c9a227", "#4aa3b8", "#8a5a44"];
  const series = (sets) => sets.map((set, n) => ({ ...set, backgroundColor: colours[n % colours.length] }));
  const options = (precision) => ({
    animation: false,
    maintainAspectRatio: false,
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision } } },
    plugins: { legend: { position: "bottom" } },
  });
  window.homeCharts = [
    new Chart(document.getElementById("orders-chart"), {
      type: "bar",
      data: { labels: data.days, datasets: series(data.orders) },
      options: options(0), // whole orders
    }),
    new Chart(document.getElementById("sales-chart"), {
      type: "bar",
      data: { labels: data.days, datasets: series(data.sales) },
      options: options(undefined),
    }),
  ];
})();
